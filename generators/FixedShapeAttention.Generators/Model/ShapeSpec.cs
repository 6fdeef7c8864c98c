namespace FixedShapeAttention.Generators.Model;

/// <summary>The feed-forward activation, mirroring <c>FixedShapeAttention.Activation</c> value for value.</summary>
internal enum ActivationKind
{
    Relu = 0,
    Gelu = 1,
    GeluTanh = 2,
    Silu = 3,
}

/// <summary>
/// Everything the emitters need to know about one annotated class.
/// </summary>
/// <remarks>
/// Cache contract: this record is the output of the <c>Output</c> step and must compare equal exactly when the
/// generated source would be identical. It therefore holds only strings, ints, bools, enums and nested records
/// of the same kind, never an <c>ISymbol</c>, <c>SyntaxNode</c>, <c>Location</c> or <c>Compilation</c> (they would
/// pin old compilations in memory and break equality), and no location at all, so that moving the declaration
/// re-reports diagnostics without re-emitting kernels.
/// </remarks>
internal sealed record ShapeSpec(
    TypeHierarchy Type,
    int SequenceLength,
    int EmbeddingDim,
    int FfnDim,
    int Heads,
    bool Causal,
    ActivationKind Activation)
{
    /// <summary>Key/value heads (grouped-query attention); the attribute's default is <see cref="Heads"/>.</summary>
    public int KeyValueHeads { get; init; } = Heads;

    public int HeadDim => EmbeddingDim / Heads;

    /// <summary>Query heads per key/value head.</summary>
    public int GroupSize => Heads / KeyValueHeads;

    /// <summary>The width of K and V: KeyValueHeads · HeadDim (EmbeddingDim without grouping).</summary>
    public int KeyValueDim => KeyValueHeads * HeadDim;
}

/// <summary>
/// The result of parsing one annotated declaration: the shape to emit (null when the declaration is invalid or
/// is a second part of a class already handled) and the diagnostics to report. Same cache contract as
/// <see cref="ShapeSpec"/>, except that diagnostics carry their <see cref="LocationInfo"/>.
/// </summary>
internal sealed record ParseResult(ShapeSpec? Shape, EquatableArray<DiagnosticInfo> Diagnostics);
