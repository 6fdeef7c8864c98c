using BenchmarkDotNet.Attributes;
using FixedShapeAttention.Decoding;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// Decoding with the key/value cache on the train demo's model size (4 layers, dim 128, context 128, byte vocabulary,
/// random weights): <see cref="DecodeStepBenchmarks"/>' step for 1 and for 8 sequences (each at its own position,
/// half-way into the context), and a 64-token prefill, on 1 and 2 threads, against ONNX Runtime running the same
/// weights (<c>-- decode-check</c> holds its logits to ours). The cache's size is in
/// <see cref="LanguageModelDecoder.CacheBytes"/> (bench/README.md quotes it).
/// </summary>
public class DecodingBenchmarks : DecodeStepBenchmarks
{
    private static readonly LanguageModelConfig s_model = new()
    {
        Vocabulary = 256, SequenceLength = 128, Dim = 128, Heads = 4, Ffn = 512, Layers = 4,
    };

    private float[] _promptLogits = [];
    private OnnxDecoderRunner? _onnxPrefill;

    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>The benchmark's model: the train demo's size, GPT-2's initialisation from seed 3.</summary>
    public static TransformerLanguageModel CreateModel()
    {
        var model = new TransformerLanguageModel(s_model);
        model.Initialize(3);
        return model;
    }

    protected override TransformerLanguageModel CreateBenchmarkModel() => CreateModel();

    protected override int ThreadCount => Threads;

    protected override void SetUp(TransformerLanguageModel model)
    {
        _promptLogits = new float[s_model.Vocabulary];
        _onnxPrefill = new OnnxDecoderRunner(model, Threads, 1, Prompt.Length, past: 0);
        for (int i = 0; i < Prompt.Length; i++)
            _onnxPrefill.InputIds[i] = Prompt[i];
    }

    [Benchmark(Description = "prefill 64 tokens")]
    public float Prefill()
    {
        // The sequence past the batch's.
        Decoder.Reset(Batch);
        Decoder.Prefill(Batch, Prompt, _promptLogits);
        return _promptLogits[0];
    }

    [Benchmark(Description = "ONNX Runtime prefill 64 tokens")]
    public float OnnxPrefill()
    {
        _onnxPrefill!.Run();
        return _onnxPrefill.Logits[0];
    }

    protected override void CleanUp() => _onnxPrefill?.Dispose();
}
