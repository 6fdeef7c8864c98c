using System;
using System.Linq;
using BenchmarkDotNet.Attributes;
using FixedShapeAttention.Decoding;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// Decoding with the key/value cache on the train demo's model size (4 layers, dim 128, context 128, byte vocabulary,
/// random weights): one decode step for 1 and for 8 sequences (each at its own position, half-way into the context),
/// and a 64-token prefill, on 1 and 2 threads. The cache's size is in <see cref="LanguageModelDecoder.CacheBytes"/>
/// (bench/README.md quotes it). Run with <c>--invocationCount 32 --unrollFactor 1</c>: each iteration starts every
/// sequence at position 64 and 32 steps take it to 96, inside the context of 128.
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

    [Params(1, 8)]
    public int Batch { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        KernelParallelism.DefaultMaxDegreeOfParallelism = Threads == 1 ? 1 : -1;
        var model = new TransformerLanguageModel(s_model);
        model.Initialize(3);
        _decoder = new LanguageModelDecoder(model, maxSequences: Batch + 1);
        _sequences = Enumerable.Range(0, Batch).ToArray();
        _tokens = Enumerable.Range(0, Batch).Select(i => 32 + i).ToArray();
        _logits = new float[Batch * s_model.Vocabulary];
        _prompt = Enumerable.Range(0, 64).Select(i => i % 200 + 32).ToArray();
        _promptLogits = new float[s_model.Vocabulary];
    }

    [IterationSetup]
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

    [GlobalCleanup]
    public void Cleanup() => KernelParallelism.DefaultMaxDegreeOfParallelism = -1;
}
