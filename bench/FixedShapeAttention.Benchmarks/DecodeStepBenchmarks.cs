using System.Linq;
using BenchmarkDotNet.Attributes;
using FixedShapeAttention.Decoding;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// A decode step for 1 and for 8 sequences, ours against ONNX Runtime's on the same weights (a graph with past/present
/// inputs, <see cref="OnnxDecoderGraph"/>), on the model and thread count a subclass gives. Run with
/// <c>--invocationCount 32 --unrollFactor 1</c>: each iteration starts every sequence at position 64 and 32 steps take
/// it to 95; ONNX Runtime's step runs at past <see cref="OnnxPast"/>, the same mean work.
/// </summary>
[Config(typeof(EncoderBenchmarkConfig))]
public abstract class DecodeStepBenchmarks
{
    private LanguageModelDecoder _decoder = null!;
    private int[] _sequences = [], _tokens = [];
    private float[] _logits = [], _promptLogits = [];
    private OnnxDecoderRunner? _onnxStep;

    /// <summary>The past length of ONNX Runtime's measured step: our steps run from position 64 to 95 (81 keys
    /// attended on average), so ONNX Runtime's step attends 80 cached keys and its own, 81.</summary>
    public const int OnnxPast = 80;

    [Params(1, 8)]
    public int Batch { get; set; }

    /// <summary>The 64-token prompt each sequence is prefilled with before an iteration.</summary>
    protected int[] Prompt { get; } = Enumerable.Range(0, 64).Select(i => i % 200 + 32).ToArray();

    /// <summary>The decoder, with one sequence more than the batch for a subclass's own use.</summary>
    protected LanguageModelDecoder Decoder => _decoder;

    protected abstract TransformerLanguageModel CreateBenchmarkModel();

    /// <summary>Threads for ours (the default degree of parallelism) and ONNX Runtime's intra-op pool.</summary>
    protected virtual int ThreadCount => 1;

    /// <summary>A subclass's own setup, after the step's.</summary>
    protected virtual void SetUp(TransformerLanguageModel model)
    {
    }

    [GlobalSetup]
    public void Setup()
    {
        KernelParallelism.DefaultMaxDegreeOfParallelism = ThreadCount == 1 ? 1 : -1;
        TransformerLanguageModel model = CreateBenchmarkModel();
        _decoder = new LanguageModelDecoder(model, maxSequences: Batch + 1);
        _sequences = Enumerable.Range(0, Batch).ToArray();
        _tokens = Enumerable.Range(0, Batch).Select(i => 32 + i).ToArray();
        _logits = new float[Batch * model.Config.Vocabulary];
        _promptLogits = new float[model.Config.Vocabulary];
        _onnxStep = OnnxDecoderRunner.DecodeStep(model, ThreadCount, _tokens, OnnxPast);
        SetUp(model);

        // Steps for a second and a half before BenchmarkDotNet's own warm-up: tiered compilation promotes the kernels'
        // hot methods only after they have run for a while, and with 10 warm-up iterations the batch-8 step was still
        // partly unoptimised in some processes (340–480 µs against ~210 µs once promoted).
        var warm = System.Diagnostics.Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < 1.5)
        {
            Rewind();
            for (int i = 0; i < 32; i++)
                DecodeStep();
        }
    }

    [IterationSetup(Target = nameof(DecodeStep))]
    public void Rewind()
    {
        // Every sequence half-way into the context, so each measured step attends to 64 cached tokens.
        foreach (int s in _sequences)
        {
            _decoder.Reset(s);
            _decoder.Prefill(s, Prompt, _promptLogits);
        }
    }

    [Benchmark(Description = "decode step (one token per sequence)")]
    public float DecodeStep()
    {
        _decoder.DecodeStep(_sequences, _tokens, _logits);
        return _logits[0];
    }

    [Benchmark(Description = "ONNX Runtime decode step (past 80)")]
    public float OnnxDecodeStep()
    {
        _onnxStep!.Run();
        return _onnxStep.Logits[0];
    }

    /// <summary>A subclass's own cleanup, before the step's.</summary>
    protected virtual void CleanUp()
    {
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        CleanUp();
        KernelParallelism.DefaultMaxDegreeOfParallelism = -1;
        _onnxStep?.Dispose();
    }
}
