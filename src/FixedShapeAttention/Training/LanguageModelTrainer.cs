using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

namespace FixedShapeAttention.Training;

/// <summary>The outcome of one training step.</summary>
/// <param name="Step">The step's index, from 0.</param>
/// <param name="Loss">The batch's mean cross-entropy before the update.</param>
/// <param name="GradientNorm">The global L2 norm of the gradients before clipping.</param>
/// <param name="LearningRate">The rate the schedule gave this step.</param>
/// <param name="Skipped">The gradients were not finite, so no parameter was changed.</param>
public readonly record struct TrainingStep(long Step, double Loss, double GradientNorm, float LearningRate, bool Skipped);

/// <summary>
/// One training step as GPT-2-style training does it: zero the gradients, forward and backward over the batch (in
/// micro-batches of whole sequences when asked, which gives the same bits), clip by global norm, take the schedule's
/// learning rate, and update with AdamW. The clipping factor is applied by the update as it reads each gradient (the
/// bits of scaling the gradients first), so after a step the model's gradients hold the unclipped values. Checkpoints
/// hold the parameters, the optimizer's moments and the step in one safetensors file.
/// </summary>
public sealed class LanguageModelTrainer
{
    private readonly TransformerLanguageModel _model;
    private readonly WarmupCosineSchedule _schedule;

    /// <summary>A trainer that updates <paramref name="model"/> in place.</summary>
    /// <param name="maxGradientNorm">The global norm gradients are clipped to (1.0 in GPT-2/3 training).</param>
    /// <param name="microBatchSequences">Sequences per forward/backward call; 0 runs the whole batch at once.</param>
    public LanguageModelTrainer(TransformerLanguageModel model, AdamWOptions optimizer, WarmupCosineSchedule schedule, double maxGradientNorm, int microBatchSequences)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(schedule);
        if (!(maxGradientNorm > 0) || double.IsInfinity(maxGradientNorm))
            throw new ArgumentOutOfRangeException(nameof(maxGradientNorm), maxGradientNorm, "maxGradientNorm must be positive and finite.");
        ArgumentOutOfRangeException.ThrowIfNegative(microBatchSequences);
        _model = model;
        _schedule = schedule;
        MaxGradientNorm = maxGradientNorm;
        MicroBatchSequences = microBatchSequences;
        Optimizer = new AdamW(model.Parameters, optimizer);
    }

    /// <summary>The model being trained.</summary>
    public TransformerLanguageModel Model => _model;

    /// <summary>The optimizer and its state.</summary>
    public AdamW Optimizer { get; }

    /// <summary>The norm gradients are clipped to.</summary>
    public double MaxGradientNorm { get; }

    /// <summary>Sequences per forward/backward call; 0 is the whole batch.</summary>
    public int MicroBatchSequences { get; }

    /// <summary>Steps taken so far, including skipped ones; the schedule's position.</summary>
    public long StepCount { get; private set; }

    /// <summary>One step over a batch, with the process-wide default parallelism.</summary>
    /// <exception cref="ArgumentException">The batch is not whole sequences, or a token or target is out of range;
    /// nothing is changed then.</exception>
    public TrainingStep Step(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets) => Step(tokens, targets, KernelParallelism.DefaultMaxDegreeOfParallelism);

    /// <summary>One step over a batch on at most <paramref name="maxDegreeOfParallelism"/> threads.</summary>
    public TrainingStep Step(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, int maxDegreeOfParallelism)
    {
        int t = _model.Config.SequenceLength;
        _model.Validate(tokens, targets);
        int scored = 0;
        foreach (int target in targets)
            scored += target == SoftmaxCrossEntropy.IgnoreIndex ? 0 : 1;

        _model.ZeroGradients();
        int sequences = tokens.Length / t, perCall = MicroBatchSequences == 0 ? sequences : MicroBatchSequences;
        double loss = 0;
        for (int first = 0; first < sequences; first += perCall)
        {
            int count = Math.Min(perCall, sequences - first);
            loss += _model.ForwardBackward(tokens.Slice(first * t, count * t), targets.Slice(first * t, count * t), Math.Max(scored, 1), maxDegreeOfParallelism);
        }

        // Clipping by global norm: AdamW multiplies each gradient by the factor as it reads it, the bits of
        // ClipByGlobalNorm's in-place scaling without that pass over every gradient (about 0.5 ms of a 1024-token
        // step of the peer model). The gradients themselves are left as the backward pass wrote them.
        double norm = GradientClipping.GlobalNorm(_model.Parameters);
        float rate = _schedule.At(StepCount);
        bool skipped = !double.IsFinite(norm);
        if (!skipped)
            Optimizer.Step(rate, maxDegreeOfParallelism, GradientClipping.ClipFactor(norm, MaxGradientNorm));
        return new TrainingStep(StepCount++, loss, norm, rate, skipped);
    }

    /// <summary>Writes the parameters, the optimizer's moments, the configuration and the step count to one file.</summary>
    public void SaveCheckpoint(string path)
    {
        var metadata = new Dictionary<string, string>(_model.ConfigMetadata());
        foreach (KeyValuePair<string, string> pair in Optimizer.StateMetadata())
            metadata[pair.Key] = pair.Value;
        metadata["trainer.step"] = StepCount.ToString(CultureInfo.InvariantCulture);
        Safetensors.Write(path, _model.ParameterTensors().Concat(Optimizer.StateTensors()), metadata);
    }

    /// <summary>Restores the parameters, moments and step count of a checkpoint written by <see cref="SaveCheckpoint"/>
    /// for a model of this configuration.</summary>
    /// <exception cref="InvalidDataException">The checkpoint is malformed or of another configuration; nothing is changed then.</exception>
    public void LoadCheckpoint(SafetensorsFile checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        TransformerLanguageModel stored = TransformerLanguageModel.FromCheckpoint(checkpoint);
        if (stored.Config != _model.Config)
            throw new InvalidDataException($"the checkpoint is of another model: {stored.Config}, this trainer's is {_model.Config}.");
        if (!checkpoint.Metadata.TryGetValue("trainer.step", out string? text) || !long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long step))
            throw new InvalidDataException("the checkpoint's metadata 'trainer.step' is missing or invalid.");
        // Validates every moment before anything changes; then the parameters, which FromCheckpoint has checked.
        Optimizer.LoadState(checkpoint);
        _model.LoadParameters(checkpoint);
        StepCount = step;
    }
}
