using System.Linq;
using BenchmarkDotNet.Attributes;
using FixedShapeAttention.Decoding;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// A decode step of a model whose weights do not fit the cache (GPT-2-small's layers: dim 768, 12 heads, FFN 3072, 6
/// layers, 171 MB of weights, byte vocabulary, tied head; five times the 32 MiB L3), so every step streams its weights
/// from DRAM: ours and ONNX Runtime's on the same random weights, one thread, batch 1 and 8, each sequence stepped from
/// position 64 to 95 as in <see cref="DecodingBenchmarks"/> (ONNX Runtime's step at past <see cref="DecodingBenchmarks.OnnxPast"/>).
/// <c>-- decode-bandwidth</c> measures the same step against the DRAM read bandwidth. Run with
/// <c>--invocationCount 32 --unrollFactor 1</c>.
/// </summary>
[Config(typeof(EncoderBenchmarkConfig))]
public class LargeModelDecodingBenchmarks
{
    /// <summary>The model: GPT-2-small's layers on a byte vocabulary.</summary>
    public static readonly LanguageModelConfig Model = new()
    {
        Vocabulary = 256, SequenceLength = 128, Dim = 768, Heads = 12, Ffn = 3072, Layers = 6,
    };

    private LanguageModelDecoder _decoder = null!;
    private int[] _sequences = [], _tokens = [], _prompt = [];
    private float[] _logits = [], _promptLogits = [];
    private OnnxDecoderRunner? _onnxStep;

    [Params(1, 8)]
    public int Batch { get; set; }

    /// <summary>The benchmark's model with GPT-2's initialisation from seed 3.</summary>
    public static TransformerLanguageModel CreateModel()
    {
        var model = new TransformerLanguageModel(Model);
        model.Initialize(3);
        return model;
    }

    [GlobalSetup]
    public void Setup()
    {
        KernelParallelism.DefaultMaxDegreeOfParallelism = 1;
        TransformerLanguageModel model = CreateModel();
        _decoder = new LanguageModelDecoder(model, maxSequences: Batch);
        _sequences = Enumerable.Range(0, Batch).ToArray();
        _tokens = Enumerable.Range(0, Batch).Select(i => 32 + i).ToArray();
        _logits = new float[Batch * Model.Vocabulary];
        _prompt = Enumerable.Range(0, 64).Select(i => i % 200 + 32).ToArray();
        _promptLogits = new float[Model.Vocabulary];
        _onnxStep = OnnxDecoderRunner.DecodeStep(model, 1, _tokens, DecodingBenchmarks.OnnxPast);
    }

    [IterationSetup(Target = nameof(DecodeStep))]
    public void Rewind()
    {
        foreach (int s in _sequences)
        {
            _decoder.Reset(s);
            _decoder.Prefill(s, _prompt, _promptLogits);
        }
    }

    [Benchmark(Description = "decode step, 171 MB of weights")]
    public float DecodeStep()
    {
        _decoder.DecodeStep(_sequences, _tokens, _logits);
        return _logits[0];
    }

    [Benchmark(Description = "ONNX Runtime decode step (past 80), 171 MB of weights")]
    public float OnnxDecodeStep()
    {
        _onnxStep!.Run();
        return _onnxStep.Logits[0];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        KernelParallelism.DefaultMaxDegreeOfParallelism = -1;
        _onnxStep?.Dispose();
    }
}
