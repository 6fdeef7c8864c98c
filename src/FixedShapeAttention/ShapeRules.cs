// This file is compiled twice: into the runtime library and, linked, into the netstandard2.0 generator, so that
// the attribute's diagnostics and the runtime shape's exceptions enforce one set of rules. Keep it free of APIs
// newer than netstandard2.0 and of anything but plain integer logic.

namespace FixedShapeAttention;

/// <summary>The limits a transformer shape must respect, shared by the generator and the runtime.</summary>
internal static class ShapeRules
{
    /// <summary>
    /// Upper bounds on each dimension. They keep every offset the generated code computes inside <c>int</c>
    /// (the largest product is EmbeddingDim·FfnDim = 2^28 floats) and bound the per-worker scratch, which
    /// holds Kᵀ for one head (HeadDim·SequenceLength floats, at most 2^26 = 256 MiB).
    /// </summary>
    public const int MaxSequenceLength = 8192;

    /// <inheritdoc cref="MaxSequenceLength"/>
    public const int MaxEmbeddingDim = 8192;

    /// <inheritdoc cref="MaxSequenceLength"/>
    public const int MaxFfnDim = 32768;

    /// <summary>The number of values of <c>Activation</c>; the generator rejects an enum value outside [0, count).</summary>
    public const int ActivationCount = 4;

    public static bool IsPositive(int value) => value > 0;

    public static bool IsWithin(int value, int max) => value <= max;

    public static bool HeadsDivideEmbedding(int embeddingDim, int heads) => heads > 0 && embeddingDim % heads == 0;

    /// <summary>Grouped-query attention: every key/value head serves the same number of query heads.</summary>
    public static bool KeyValueHeadsDivideHeads(int heads, int keyValueHeads) => keyValueHeads > 0 && heads % keyValueHeads == 0;

    public static bool IsKnownActivation(int activation) => activation >= 0 && activation < ActivationCount;
}
