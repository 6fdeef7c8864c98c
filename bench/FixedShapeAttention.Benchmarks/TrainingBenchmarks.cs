using System;
using System.Linq;
using BenchmarkDotNet.Attributes;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// One training step of the training issue's model (<see cref="TrainingPeerExport.Model"/>: 4 pre-norm layers, dim 256,
/// 8 heads, FFN 1024, batch 8 × 128, about 21 GFLOP) and its parts: forward + backward alone, and the optimizer
/// (clipping, on one thread, and AdamW) alone, on 1 and 2 threads, with attention, the feed-forward network and the projections on the
/// kernels generated for <see cref="PeerGpt"/>. PyTorch's time for the same step comes from
/// bench/training-peer/torch_agreement.py (bench/README.md).
/// </summary>
[Config(typeof(EncoderBenchmarkConfig))]
public class TrainingBenchmarks
{
    private LanguageModelTrainer _trainer = null!;
    private int[] _tokens = [], _targets = [];

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var model = new TransformerLanguageModel(TrainingPeerExport.Model).UseKernels<PeerGpt>();
        model.Initialize(42);
        // A schedule long enough that every measured step has a learning rate above zero.
        _trainer = new LanguageModelTrainer(model, new AdamWOptions { WeightDecay = 0.1f, Beta2 = 0.95f },
            new WarmupCosineSchedule(1e-4f, 1e-5f, 1, 1_000_000), maxGradientNorm: 1.0, microBatchSequences: 0);
        var random = new Random(5);
        _tokens = Enumerable.Range(0, TrainingPeerExport.Batch * TrainingPeerExport.Model.SequenceLength).Select(_ => random.Next(256)).ToArray();
        _targets = _tokens.Select(t => (t + 1) % 256).ToArray();
    }

    [Benchmark(Description = "step (forward, backward, clip, AdamW)")]
    public double Step() => _trainer.Step(_tokens, _targets, Threads).Loss;

    [Benchmark(Description = "forward + backward")]
    public double ForwardBackward()
    {
        _trainer.Model.ZeroGradients();
        return _trainer.Model.ForwardBackward(_tokens, _targets, 0, Threads);
    }

    [Benchmark(Description = "clip + AdamW")]
    public double Optimizer()
    {
        // As the trainer does it: the norm, then AdamW applying the clipping factor as it reads each gradient.
        double norm = GradientClipping.GlobalNorm(_trainer.Model.Parameters);
        _trainer.Optimizer.Step(1e-5f, Threads, GradientClipping.ClipFactor(norm, 1.0));
        return norm;
    }
}
