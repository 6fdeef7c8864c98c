using System;

namespace FixedShapeAttention.Decoding;

/// <summary>
/// How the next token is chosen from a row of logits: greedily (<see cref="Temperature"/> 0), or by sampling from
/// <c>softmax(logits / Temperature)</c> restricted to the <see cref="TopK"/> most likely tokens and then to the
/// smallest set whose probability reaches <see cref="TopP"/> (nucleus sampling), in that order, as Hugging Face's
/// and llama.cpp's samplers apply them.
/// </summary>
public sealed record SamplingOptions
{
    /// <summary>Always the most likely token (ties: the lowest id).</summary>
    public static SamplingOptions Greedy { get; } = new() { Temperature = 0f };

    /// <summary>Divides the logits before the softmax; 0 means greedy. Default 1.</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Keep only the K most likely tokens (ties: lower ids first); 0 keeps all. Default 0.</summary>
    public int TopK { get; init; }

    /// <summary>Keep the smallest prefix of the tokens, most likely first, whose probability reaches P; 1 keeps all.
    /// Default 1.</summary>
    public float TopP { get; init; } = 1f;

    internal void Validate()
    {
        if (!(Temperature >= 0f) || float.IsInfinity(Temperature))
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "Temperature must be ≥ 0 and finite (0 is greedy).");
        if (TopK < 0)
            throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "TopK must be ≥ 0 (0 keeps every token).");
        if (!(TopP > 0f && TopP <= 1f))
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "TopP must be in (0, 1] (1 keeps every token).");
    }
}
