using System;

namespace FixedShapeAttention.Training;

/// <summary>AdamW's hyperparameters; the defaults are PyTorch's <c>torch.optim.AdamW</c>.</summary>
public sealed record AdamWOptions
{
    /// <summary>β₁, the decay of the first moment (0.9).</summary>
    public float Beta1 { get; init; } = 0.9f;

    /// <summary>β₂, the decay of the second moment (0.999).</summary>
    public float Beta2 { get; init; } = 0.999f;

    /// <summary>ε, added to the second moment's root (1e-8).</summary>
    public float Epsilon { get; init; } = 1e-8f;

    /// <summary>The decoupled weight decay λ: each step multiplies a decaying parameter by 1 − lr·λ (0.01).</summary>
    public float WeightDecay { get; init; } = 0.01f;

    internal void Validate()
    {
        if (!(Beta1 >= 0f && Beta1 < 1f))
            throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, "Beta1 must be in [0, 1).");
        if (!(Beta2 >= 0f && Beta2 < 1f))
            throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, "Beta2 must be in [0, 1).");
        if (!(Epsilon > 0f) || float.IsInfinity(Epsilon))
            throw new ArgumentOutOfRangeException(nameof(Epsilon), Epsilon, "Epsilon must be positive and finite.");
        if (!(WeightDecay >= 0f) || float.IsInfinity(WeightDecay))
            throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "WeightDecay must be ≥ 0 and finite.");
    }
}
