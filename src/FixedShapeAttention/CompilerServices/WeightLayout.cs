using System.ComponentModel;

namespace FixedShapeAttention.CompilerServices;

/// <summary>
/// How a generated kernel reads its B matrices: a struct type argument, so the JIT compiles the kernel once per layout
/// and <see cref="IsPacked"/> is a constant in each compilation (the raw-span and the prepacked overloads share one
/// kernel body and neither pays for the other in its inner loop).
/// </summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IWeightLayout
{
    /// <summary>Whether B is stored as the panels <see cref="PanelPacking.Pack"/> writes rather than row-major.</summary>
    static abstract bool IsPacked { get; }
}

/// <summary>B is a row-major span, as the caller passed it.</summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct RowMajorWeights : IWeightLayout
{
    /// <inheritdoc/>
    public static bool IsPacked => false;
}

/// <summary>B is packed panel by panel (<see cref="PanelPacking.Pack"/>).</summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct PackedWeights : IWeightLayout
{
    /// <inheritdoc/>
    public static bool IsPacked => true;
}
