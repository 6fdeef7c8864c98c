using FixedShapeAttention.SampleModels;
using System;
using Microsoft.ML.OnnxRuntime;
using System.IO;
using Independent = global::Onnx;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// The real all-MiniLM-L6-v2, loaded once for the tests that need it: through the loader under test, and a second
/// time through OnnxSharp, an independent ONNX protobuf implementation, to read the expected values from.
/// </summary>
public sealed class MiniLmFixture
{
    public MiniLmFixture()
    {
        using (Stream model = MiniLmPackage.OpenModel())
            Weights = OnnxBertLoader.Load(model);

        using (Stream model = MiniLmPackage.OpenModel())
        {
            ModelBytes = new byte[model.Length];
            model.ReadExactly(ModelBytes);
        }

        Independent = global::Onnx.ModelProto.Parser.ParseFrom(ModelBytes);
        using Stream vocabulary = MiniLmPackage.OpenVocabulary();
        Tokenizer = WordPieceTokenizer.FromVocab(vocabulary);
        _encoder = new Lazy<SentenceEncoder>(() => SentenceEncoder.Create<MiniLmShape>(Weights, Tokenizer));
        _session = new Lazy<InferenceSession>(() => new InferenceSession(ModelBytes));
    }

    public BertWeights Weights { get; }

    public byte[] ModelBytes { get; }

    public Independent.ModelProto Independent { get; }

    public WordPieceTokenizer Tokenizer { get; }

    /// <summary>The encoder under test, on the generated kernels, built from the same loaded weights.</summary>
    public SentenceEncoder Encoder => _encoder.Value;

    /// <summary>ONNX Runtime over the model file; InferenceSession.Run is thread-safe.</summary>
    public InferenceSession Session => _session.Value;

    private readonly Lazy<SentenceEncoder> _encoder;
    private readonly Lazy<InferenceSession> _session;
}
