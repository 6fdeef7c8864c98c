using System;
using BenchmarkDotNet.Attributes;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.Benchmarks;

/// <summary>The attention shape of <see cref="TrainingPeerExport.Model"/>, declared for the generator.</summary>
[TransformerShape(128, 256, 1024, Heads = 8, Causal = true, Activation = Activation.GeluTanh)]
public partial class PeerGpt { }

/// <summary>
/// Training attention of the training issue's model (batch 8 × 128, dim 256, 8 causal heads of 32): the generated
/// forward (with the log-sum-exps) and backward alone, one layer's worth; and the model's whole forward + backward with
/// its attention on the runtime-shape kernels against the generated ones (<c>UseKernels&lt;PeerGpt&gt;()</c>).
/// </summary>
[Config(typeof(EncoderBenchmarkConfig))]
public class TrainingAttentionBenchmarks
{
    private const int Batch = 8;
    private float[] _q = [], _k = [], _v = [], _o = [], _lse = [], _dO = [], _dQ = [], _dK = [], _dV = [];
    private TransformerLanguageModel _runtime = null!, _generated = null!;
    private int[] _tokens = [], _targets = [];

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        int n = Batch * PeerGpt.SequenceLength * PeerGpt.EmbeddingDim;
        var random = new Random(3);
        float[] Random() { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(random.NextDouble() * 2 - 1); return a; }
        (_q, _k, _v, _dO) = (Random(), Random(), Random(), Random());
        (_o, _dQ, _dK, _dV) = (new float[n], new float[n], new float[n], new float[n]);
        _lse = new float[Batch * PeerGpt.Heads * PeerGpt.SequenceLength];
        PeerGpt.AttentionForTraining(_q, _k, _v, _o, _lse, 1);
        _runtime = new TransformerLanguageModel(TrainingPeerExport.Model);
        _runtime.Initialize(42);
        _generated = new TransformerLanguageModel(TrainingPeerExport.Model).UseKernels<PeerGpt>();
        _generated.Initialize(42);
        var tokens = new Random(5);
        _tokens = new int[Batch * PeerGpt.SequenceLength];
        for (int i = 0; i < _tokens.Length; i++) _tokens[i] = tokens.Next(256);
        _targets = Array.ConvertAll(_tokens, t => (t + 1) % 256);
    }

    [Benchmark(Description = "generated forward (with log-sum-exp)")]
    public void GeneratedForward() => PeerGpt.AttentionForTraining(_q, _k, _v, _o, _lse, Threads);

    [Benchmark(Description = "generated backward")]
    public void GeneratedBackward() => PeerGpt.AttentionBackward(_q, _k, _v, _o, _lse, _dO, _dQ, _dK, _dV, Threads);

    [Benchmark(Description = "model forward + backward, runtime-shape attention")]
    public double RuntimeModel()
    {
        _runtime.ZeroGradients();
        return _runtime.ForwardBackward(_tokens, _targets, 0, Threads);
    }

    [Benchmark(Description = "model forward + backward, generated attention")]
    public double GeneratedModel()
    {
        _generated.ZeroGradients();
        return _generated.ForwardBackward(_tokens, _targets, 0, Threads);
    }
}
