using System;
using FixedShapeAttention.Scheduling;

namespace FixedShapeAttention.Generators.Model;

/// <summary>How a kernel's loops are emitted.</summary>
internal enum KernelStrategy
{
    /// <summary>The k loop and the column-panel loop are unrolled into straight-line code.</summary>
    FullUnroll,

    /// <summary>k and column panels stay loops; only the RM×RN register tile is unrolled.</summary>
    Blocked,
}

/// <summary>The ISA branches a generated kernel has, widest first; the value is the float lanes.</summary>
internal enum IsaBranch
{
    Scalar = 1,
    Vector256 = 8,
    Vector512 = 16,
}

/// <summary>
/// The columns of one matrix product as the register tile walks them on one ISA branch: <see cref="FullPanels"/>
/// panels of <see cref="PanelSlots"/> vectors of <see cref="Lanes"/> floats each, then the remaining slots at
/// <see cref="RemainderOffsets"/>. A column count that is not a multiple of the lanes ends with a slot at
/// <c>Columns − Lanes</c> that overlaps the previous one: it recomputes those columns with identical arithmetic,
/// so the overlapping stores write identical bits and no runtime branch handles the tail.
/// </summary>
internal sealed record ColumnLayout(int Columns, int Lanes, int PanelSlots, int FullPanels, EquatableArray<int> RemainderOffsets)
{
    public int PanelWidth => PanelSlots * Lanes;

    public int SlotCount => FullPanels * PanelSlots + RemainderOffsets.Count;
}

/// <summary>The four products of one ISA branch and the width its score rows are padded to.</summary>
internal sealed record BranchPlan(
    IsaBranch Isa,
    int ScoreColumns,
    ColumnLayout Scores,
    ColumnLayout AttentionOutput,
    ColumnLayout Hidden,
    ColumnLayout FeedForwardOutput);

/// <summary>
/// Everything decided about a shape before emission: strategy and the reason for it, register tiles per branch,
/// the row tail, scratch sizes and the chunking for the worker pool. Produced by <c>KernelPlanner.Plan</c>, a pure
/// function, so it is tested without Roslyn. Same cache contract as <see cref="ShapeSpec"/>.
/// </summary>
internal sealed record KernelPlan(
    ShapeSpec Shape,
    KernelStrategy AttentionStrategy,
    string AttentionReason,
    KernelStrategy FeedForwardStrategy,
    string FeedForwardReason,
    int RowTile,
    int FullRowTiles,
    int TailRows,
    int ScoreStride,
    int AttentionChunksPerHead,
    int AttentionMaxRowsPerChunk,
    int FeedForwardChunksPerSequence,
    int FeedForwardMaxRowsPerChunk,
    bool FeedForwardColumnSplit,
    KernelStrategy ProjectionStrategy,
    string ProjectionReason,
    int ProjectionChunksPerSequence,
    EquatableArray<BranchPlan> Branches)
{
    public int RowTiles => FullRowTiles + (TailRows > 0 ? 1 : 0);

    /// <summary>Full row tiles per block of score rows when an attention chunk is walked in blocks.</summary>
    public int AttentionBlockTiles => ChunkSizing.AttentionBlockTiles(ScoreStride);

    /// <summary>Whether an attention chunk has more rows than one block (plus the row tail) and is walked in blocks.</summary>
    public bool AttentionBlocked => AttentionMaxRowsPerChunk > AttentionBlockTiles * RowTile + TailRows;

    /// <summary>Score rows an attention chunk holds at once: all its rows, or a block of them (the last block takes the tail).</summary>
    public int AttentionBlockRows => AttentionBlocked ? AttentionBlockTiles * RowTile + TailRows : AttentionMaxRowsPerChunk;

    /// <summary>Per-worker scratch of an attention chunk: Kᵀ of one head (HeadDim × ScoreStride), then a block of score rows.</summary>
    public int AttentionScratchFloats => (Shape.HeadDim + AttentionBlockRows) * ScoreStride;

    /// <summary>Per-worker scratch of a feed-forward chunk: its hidden rows.</summary>
    public int FeedForwardScratchFloats => FeedForwardMaxRowsPerChunk * Shape.FfnDim;
}
