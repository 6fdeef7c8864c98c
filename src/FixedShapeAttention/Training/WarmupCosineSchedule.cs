using System;

namespace FixedShapeAttention.Training;

/// <summary>
/// A learning rate that rises linearly over <see cref="WarmupSteps"/> steps to <see cref="PeakLearningRate"/>, then
/// falls along a half cosine to <see cref="MinimumLearningRate"/> at <see cref="TotalSteps"/> and stays there
/// (the schedule of GPT-2/3 training and llm.c).
/// </summary>
public sealed class WarmupCosineSchedule
{
    /// <summary>A schedule; <paramref name="warmupSteps"/> may be 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A rate is negative or not finite, the minimum exceeds the peak,
    /// or the step counts are negative or leave no room after the warm-up.</exception>
    public WarmupCosineSchedule(float peakLearningRate, float minimumLearningRate, int warmupSteps, int totalSteps)
    {
        if (!(peakLearningRate >= 0f) || float.IsInfinity(peakLearningRate))
            throw new ArgumentOutOfRangeException(nameof(peakLearningRate), peakLearningRate, "The peak learning rate must be ≥ 0 and finite.");
        if (!(minimumLearningRate >= 0f) || minimumLearningRate > peakLearningRate)
            throw new ArgumentOutOfRangeException(nameof(minimumLearningRate), minimumLearningRate, $"The minimum learning rate must be in [0, {peakLearningRate}].");
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        if (totalSteps <= warmupSteps)
            throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, $"totalSteps must exceed warmupSteps ({warmupSteps}).");

        PeakLearningRate = peakLearningRate;
        MinimumLearningRate = minimumLearningRate;
        WarmupSteps = warmupSteps;
        TotalSteps = totalSteps;
    }

    /// <summary>The rate at the end of the warm-up.</summary>
    public float PeakLearningRate { get; }

    /// <summary>The rate from <see cref="TotalSteps"/> on.</summary>
    public float MinimumLearningRate { get; }

    /// <summary>Steps of linear warm-up.</summary>
    public int WarmupSteps { get; }

    /// <summary>The step at which the cosine reaches the minimum.</summary>
    public int TotalSteps { get; }

    /// <summary>The learning rate of step <paramref name="step"/> (0 is the first update).</summary>
    public float At(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (step < WarmupSteps)
            return (float)((double)PeakLearningRate * (step + 1) / WarmupSteps);
        if (step >= TotalSteps)
            return MinimumLearningRate;
        double progress = (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps);
        return (float)(MinimumLearningRate + 0.5 * (1 + Math.Cos(Math.PI * progress)) * (PeakLearningRate - MinimumLearningRate));
    }
}
