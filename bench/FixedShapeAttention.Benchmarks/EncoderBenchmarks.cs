using System;
using System.IO;
using BenchmarkDotNet.Attributes;
using FixedShapeAttention.Models;
using FixedShapeAttention.SampleModels;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// all-MiniLM-L6-v2's encoder forward pass (embeddings, six layers; no tokenization, no pooling) on the generated
/// kernels against ONNX Runtime running the package's model.onnx, on the same token ids, 1 and 2 threads.
/// Every token is real (no padding), so both do the whole work of the shape.
/// </summary>
[Config(typeof(EncoderBenchmarkConfig))]
public class EncoderBenchmarks
{
    private static readonly Lazy<byte[]> s_model = new(() =>
    {
        using Stream stream = MiniLmPackage.OpenModel();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    private static readonly Lazy<SentenceEncoder> s_encoder = new(() =>
    {
        using var model = new MemoryStream(s_model.Value, writable: false);
        using Stream vocabulary = MiniLmPackage.OpenVocabulary();
        return SentenceEncoder.Load<MiniLmShape>(model, vocabulary);
    });

    private long[] _ids = [], _mask = [], _types = [];
    private float[] _hidden = [];
    private OnnxRuntimeRunner? _onnx;

    /// <summary>"batch×sequence".</summary>
    [Params("1x16", "1x64", "1x128", "1x256", "8x128")]
    public string Input { get; set; } = "1x16";

    [Params(1, 2)]
    public int Threads { get; set; }

    public int Batch => int.Parse(Input.Split('x')[0], System.Globalization.CultureInfo.InvariantCulture);

    public int SequenceLength => int.Parse(Input.Split('x')[1], System.Globalization.CultureInfo.InvariantCulture);

    [GlobalSetup]
    public void Setup()
    {
        int tokens = Batch * SequenceLength;
        var random = new Random(7);
        _ids = new long[tokens];
        _mask = new long[tokens];
        _types = new long[tokens];
        for (int i = 0; i < tokens; i++)
        {
            // [CLS] at each sequence start, [SEP] at its end, ordinary word pieces between.
            int position = i % SequenceLength;
            _ids[i] = position == 0 ? 101 : position == SequenceLength - 1 ? 102 : random.Next(1996, 29612);
            _mask[i] = 1;
        }

        _hidden = new float[tokens * 384];
        _onnx = MiniLmOnnxRunner.Create(s_model.Value, Threads, _ids, _mask, _types, _hidden, Batch, SequenceLength);
        s_encoder.Value.Forward(_ids, _mask, _types, SequenceLength, _hidden, Threads);
    }

    [GlobalCleanup]
    public void Cleanup() => _onnx?.Dispose();

    [Benchmark(Baseline = true, Description = "ONNX Runtime")]
    public void OnnxRuntime() => _onnx!.Run();

    [Benchmark(Description = "Generated")]
    public void Generated() => s_encoder.Value.Forward(_ids, _mask, _types, SequenceLength, _hidden, Threads);
}

/// <summary>MemoryDiagnoser; the ratio column compares with ONNX Runtime (the baseline) in the same run.</summary>
public sealed class EncoderBenchmarkConfig : BenchmarkDotNet.Configs.ManualConfig
{
    public EncoderBenchmarkConfig() => AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default);
}
