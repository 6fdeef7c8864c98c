using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// <c>-- training-peer DIR</c>: writes what bench/training-peer/torch_agreement.py needs to hold the training step to
/// PyTorch on the same model: the initial parameters and configuration (init.safetensors), a fixed batch per step
/// (batches.safetensors), our gradients of the first batch before clipping (grads.safetensors), our losses over ten
/// AdamW steps (losses.txt, with the schedule and options the script repeats), and our one-thread step time.
/// The model is the issue's: 4 pre-norm layers, dim 256, 8 heads, FFN 1024 (tanh GELU), batch 8 × 128, byte vocabulary.
/// </summary>
internal static class TrainingPeerExport
{
    public static readonly LanguageModelConfig Model = new()
    {
        Vocabulary = 256, SequenceLength = 128, Dim = 256, Heads = 8, Ffn = 1024, Layers = 4,
    };

    public const int Batch = 8, Steps = 10;

    /// <summary>Steps timed after the agreement steps (the ten batches again, in order), here and in the script: a
    /// training run's step time once both engines are warm. The agreement steps' median is printed too; it includes the
    /// first steps, which here run partly in code the JIT has not yet optimized (the first took 247–288 ms, the later
    /// ones 213–225 ms, 2026-12-01).</summary>
    public const int TimedSteps = 20;
    public const float PeakRate = 1e-3f, MinimumRate = 1e-4f;
    public const int WarmupSteps = 2;

    public static void Run(string directory)
    {
        Directory.CreateDirectory(directory);
        var model = new TransformerLanguageModel(Model).UseKernels<PeerGpt>();
        model.Initialize(seed: 42);
        Safetensors.Write(Path.Combine(directory, "init.safetensors"), model.ParameterTensors().Select(t => new NamedTensor(t.Name, t.Shape, (float[])t.Data.Clone())), model.ConfigMetadata());

        var random = new Random(5);
        int tokensPerBatch = Batch * Model.SequenceLength;
        var batches = new List<NamedTensor>();
        var tokens = new int[Steps][];
        var targets = new int[Steps][];
        for (int s = 0; s < Steps; s++)
        {
            tokens[s] = Enumerable.Range(0, tokensPerBatch).Select(_ => random.Next(Model.Vocabulary)).ToArray();
            // Targets follow from the tokens (a learnable rule: the next token is the current plus 1), so the loss falls.
            targets[s] = tokens[s].Select(t => (t + 1) % Model.Vocabulary).ToArray();
            batches.Add(new NamedTensor($"tokens.{s}", [Batch, Model.SequenceLength], tokens[s].Select(t => (float)t).ToArray()));
            batches.Add(new NamedTensor($"targets.{s}", [Batch, Model.SequenceLength], targets[s].Select(t => (float)t).ToArray()));
        }

        Safetensors.Write(Path.Combine(directory, "batches.safetensors"), batches);

        model.ZeroGradients();
        model.ForwardBackward(tokens[0], targets[0], 0, 1);
        Safetensors.Write(Path.Combine(directory, "grads.safetensors"), model.Parameters.Select(p => new NamedTensor(p.Name, p.Shape, (float[])p.Gradient.Clone())));

        var trainer = new LanguageModelTrainer(model, new AdamWOptions { WeightDecay = 0.1f, Beta2 = 0.95f },
            new WarmupCosineSchedule(PeakRate, MinimumRate, WarmupSteps, Steps), maxGradientNorm: 1.0, microBatchSequences: 0);
        // The same initial parameters as init.safetensors: ForwardBackward above changed only gradients.
        var losses = new List<double>();
        var times = new List<double>();
        for (int s = 0; s < Steps; s++)
        {
            long start = Stopwatch.GetTimestamp();
            losses.Add(trainer.Step(tokens[s], targets[s], 1).Loss);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        times.Sort();
        var warmTimes = new List<double>();
        for (int s = 0; s < TimedSteps; s++)
        {
            long start = Stopwatch.GetTimestamp();
            trainer.Step(tokens[s % Steps], targets[s % Steps], 1);
            warmTimes.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        warmTimes.Sort();

        File.WriteAllLines(Path.Combine(directory, "losses.txt"), losses.Select(l => l.ToString("R", CultureInfo.InvariantCulture)));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ours: loss {losses[0]:F6} -> {losses[^1]:F6} over {Steps} steps, {times[Steps / 2]:F1} ms per step on one thread (median of the {Steps}); " +
            $"warm: {warmTimes[TimedSteps / 2]:F1} ms per step (median of {TimedSteps} more, as the script times PyTorch's)"));
        Console.WriteLine($"wrote init.safetensors, batches.safetensors, grads.safetensors, losses.txt to {directory}");
    }
}
