using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using FixedShapeAttention.Training;
using Spectre.Console;

namespace FixedShapeAttention.Demo;

/// <summary>
/// <c>train [--steps N] [--out DIR]</c>: trains a small byte-level GPT on this repository's sources with the library's
/// training step, shows loss, tokens/s and the time left, writes a checkpoint and a loss curve, and ends with
/// <c>trained: loss A -> B in N steps, T tokens/s</c> (A: the first step's loss; B: the mean of the last ten).
/// </summary>
internal static class TrainCommand
{
    public static readonly LanguageModelConfig Model = new()
    {
        Vocabulary = 256, SequenceLength = 128, Dim = 128, Heads = 4, Ffn = 512, Layers = 4,
        Causal = true, PreNorm = true, TiedEmbeddings = true, Activation = Activation.GeluTanh,
    };

    private const int BatchSequences = 8;

    public static string DefaultOutput => Path.Combine(Environment.CurrentDirectory, "train-output");

    public static int Run(string[] args)
    {
        int steps = 300;
        string output = DefaultOutput;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--steps" && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out steps) && steps > 0)
                i++;
            else if (args[i] == "--out" && i + 1 < args.Length)
                output = args[++i];
            else
            {
                Console.Error.WriteLine($"train: unknown or invalid argument '{args[i]}'. Usage: train [--steps N (> 0)] [--out DIR]");
                return 2;
            }
        }

        ByteCorpus corpus = ByteCorpus.FromRepository();
        Console.WriteLine($"corpus: {corpus.Length:N0} bytes from {corpus.Files} files under {corpus.Root} (unigram entropy {corpus.UnigramEntropy():F2} nats)");
        Console.WriteLine($"model: {Model.Layers} layers, dim {Model.Dim}, {Model.Heads} heads, FFN {Model.Ffn}, context {Model.SequenceLength}, " +
                          $"byte vocabulary; batch {BatchSequences} × {Model.SequenceLength} tokens, {steps} steps, AdamW with warm-up and cosine decay");
        TrainingRun run = Train(corpus, steps, output, interactive: !Console.IsOutputRedirected);
        Console.WriteLine($"checkpoint: {run.Checkpoint}");
        Console.WriteLine($"loss curve: {run.Chart}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"trained: loss {run.FirstLoss:F3} -> {run.FinalLoss:F3} in {steps} steps, {run.TokensPerSecond:F0} tokens/s"));
        return 0;
    }

    public sealed record TrainingRun(double FirstLoss, double FinalLoss, double TokensPerSecond, string Checkpoint, string Chart);

    /// <summary>Trains from a fresh initialisation and writes the checkpoint and chart into <paramref name="output"/>.</summary>
    public static TrainingRun Train(ByteCorpus corpus, int steps, string output, bool interactive)
    {
        Directory.CreateDirectory(output);
        var model = new TransformerLanguageModel(Model).UseKernels<DemoGpt>();
        model.Initialize(seed: 20261130);
        var schedule = new WarmupCosineSchedule(3e-3f, 3e-4f, warmupSteps: Math.Min(20, steps / 10), totalSteps: steps);
        var trainer = new LanguageModelTrainer(model, new AdamWOptions { WeightDecay = 0.1f, Beta2 = 0.95f }, schedule, maxGradientNorm: 1.0, microBatchSequences: 0);
        var random = new Random(7);
        int[] tokens = new int[BatchSequences * Model.SequenceLength], targets = new int[tokens.Length];
        var losses = new List<double>(steps);
        var clock = Stopwatch.StartNew();

        void StepOnce(Action<TrainingStep>? report)
        {
            corpus.Sample(random, Model.SequenceLength, tokens, targets);
            TrainingStep result = trainer.Step(tokens, targets);
            losses.Add(result.Loss);
            report?.Invoke(result);
        }

        if (interactive)
        {
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(context =>
                {
                    ProgressTask task = context.AddTask("training", maxValue: steps);
                    for (int step = 0; step < steps; step++)
                    {
                        StepOnce(r => task.Description = string.Create(CultureInfo.InvariantCulture,
                            $"step {r.Step + 1}/{steps}  loss {r.Loss:F3}  {tokens.Length * (r.Step + 1) / clock.Elapsed.TotalSeconds:F0} tokens/s"));
                        task.Increment(1);
                    }
                });
        }
        else
        {
            for (int step = 0; step < steps; step++)
            {
                StepOnce(r =>
                {
                    if (r.Step % 25 == 0 || r.Step == steps - 1)
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"step {r.Step + 1}/{steps}  loss {r.Loss:F3}  {tokens.Length * (r.Step + 1) / clock.Elapsed.TotalSeconds:F0} tokens/s  " +
                            $"ETA {TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / (r.Step + 1) * (steps - r.Step - 1)):mm\\:ss}"));
                });
            }
        }

        double tokensPerSecond = (double)tokens.Length * steps / clock.Elapsed.TotalSeconds;
        string checkpoint = Path.Combine(output, "checkpoint.safetensors");
        trainer.SaveCheckpoint(checkpoint);
        string chart = Path.Combine(output, "loss.png");
        LossChart.Save(losses, corpus.UnigramEntropy(), chart);
        return new TrainingRun(losses[0], losses.Skip(Math.Max(0, losses.Count - 10)).Average(), tokensPerSecond, checkpoint, chart);
    }
}
