using System;
using System.Linq;
using BenchmarkDotNet.Attributes;
using FixedShapeAttention.Decoding;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// Decoding with the key/value cache on the train demo's model size (4 layers, dim 128, context 128, byte vocabulary,
/// random weights): one decode step for 1 and for 8 sequences (each at its own position, half-way into the context),
/// and a 64-token prefill, on 1 and 2 threads, against ONNX Runtime running the same weights as a graph with
/// past/present inputs (<see cref="OnnxDecoderGraph"/>; <c>-- decode-check</c> holds its logits to ours). The cache's
/// size is in <see cref="LanguageModelDecoder.CacheBytes"/> (bench/README.md quotes it). Run with
/// <c>--invocationCount 32 --unrollFactor 1</c>: each iteration starts every sequence at position 64 and 32 steps take
/// it to 95, inside the context of 128; ONNX Runtime's step runs at past <see cref="OnnxPast"/>, the same mean work.
/// </summary>
[Config(typeof(EncoderBenchmarkConfig))]
public class DecodingBenchmarks
{
    private static readonly LanguageModelConfig s_model = new()
    {
        Vocabulary = 256, SequenceLength = 128, Dim = 128, Heads = 4, Ffn = 512, Layers = 4,
    };

    private LanguageModelDecoder _decoder = null!;
    private int[] _sequences = [], _tokens = [], _prompt = [];
    private float[] _logits = [], _promptLogits = [];
    private OnnxDecoderRunner? _onnxStep, _onnxPrefill;

    /// <summary>The past length of ONNX Runtime's measured step: our steps run from position 64 to 95 (81 keys
    /// attended on average), so ONNX Runtime's step attends 80 cached keys and its own, 81.</summary>
    public const int OnnxPast = 80;

    [Params(1, 8)]
    public int Batch { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>The benchmark's model: the train demo's size, GPT-2's initialisation from seed 3.</summary>
    public static TransformerLanguageModel CreateModel()
    {
        var model = new TransformerLanguageModel(s_model);
        model.Initialize(3);
        return model;
    }

    [GlobalSetup]
    public void Setup()
    {
        KernelParallelism.DefaultMaxDegreeOfParallelism = Threads == 1 ? 1 : -1;
        TransformerLanguageModel model = CreateModel();
        _decoder = new LanguageModelDecoder(model, maxSequences: Batch + 1);
        _sequences = Enumerable.Range(0, Batch).ToArray();
        _tokens = Enumerable.Range(0, Batch).Select(i => 32 + i).ToArray();
        _logits = new float[Batch * s_model.Vocabulary];
        _prompt = Enumerable.Range(0, 64).Select(i => i % 200 + 32).ToArray();
        _promptLogits = new float[s_model.Vocabulary];

        // The peer: the same weights as an ONNX graph with past/present inputs (-- decode-check holds the logits to
        // ours), every tensor bound once, on the same thread count (intra-op threads).
        _onnxPrefill = new OnnxDecoderRunner(model, Threads, 1, _prompt.Length, past: 0);
        for (int i = 0; i < _prompt.Length; i++)
            _onnxPrefill.InputIds[i] = _prompt[i];
        _onnxStep = OnnxDecoderRunner.DecodeStep(model, Threads, _tokens, OnnxPast);
    }

    [IterationSetup(Target = nameof(DecodeStep))]
    public void Rewind()
    {
        // Every sequence half-way into the context, so each measured step attends to 64 cached tokens.
        foreach (int s in _sequences)
        {
            _decoder.Reset(s);
            _decoder.Prefill(s, _prompt, _promptLogits);
        }

        _decoder.Reset(Batch);
    }

    [Benchmark(Description = "decode step (one token per sequence)")]
    public float DecodeStep()
    {
        _decoder.DecodeStep(_sequences, _tokens, _logits);
        return _logits[0];
    }

    [Benchmark(Description = "prefill 64 tokens")]
    public float Prefill()
    {
        _decoder.Reset(Batch);
        _decoder.Prefill(Batch, _prompt, _promptLogits);
        return _promptLogits[0];
    }

    [Benchmark(Description = "ONNX Runtime decode step (past 80)")]
    public float OnnxDecodeStep()
    {
        _onnxStep!.Run();
        return _onnxStep.Logits[0];
    }

    [Benchmark(Description = "ONNX Runtime prefill 64 tokens")]
    public float OnnxPrefill()
    {
        _onnxPrefill!.Run();
        return _onnxPrefill.Logits[0];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        KernelParallelism.DefaultMaxDegreeOfParallelism = -1;
        _onnxStep?.Dispose();
        _onnxPrefill?.Dispose();
    }
}
