using System;
using System.Linq;

namespace FixedShapeAttention.Generators.Model;

/// <summary>How a product's loops are emitted.</summary>
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
    Vector128 = 4,
    Vector256 = 8,
    Vector512 = 16,
}

/// <summary>How a register tile's a·b + c is computed, which fixes the bits of every output (one rounding or two).</summary>
internal enum MultiplyAddForm
{
    /// <summary>A multiply, then an add (two roundings): scalar products, where a fused multiply-add is a software call
    /// whenever hardware intrinsics are disabled.</summary>
    MultiplyThenAdd,

    /// <summary>One fused multiply-add (one rounding): Vector512 and Vector256 slots, which only run where the CPU has FMA.</summary>
    Fused,

    /// <summary>
    /// <c>MultiplyAddEstimate</c>: one FMA wherever the CPU has it, so the same bits as <see cref="Fused"/> on every CPU that
    /// runs the wider branches and on ARM64, and a multiply and an add on x64 without FMA (Vector128 slots under
    /// DOTNET_EnableAVX2=0), where <c>FusedMultiplyAdd</c> would be a software call per lane.
    /// </summary>
    FusedWhereAvailable,
}

/// <summary>
/// The columns of one matrix product as the register tile walks them on one ISA branch: <see cref="FullPanels"/>
/// panels of <see cref="PanelSlots"/> vectors of <see cref="Lanes"/> floats each, then the remaining slots at
/// <see cref="RemainderOffsets"/>. A column count that is not a multiple of the lanes ends with a slot at
/// <c>Columns − Lanes</c> that overlaps the previous one: it recomputes those columns with identical arithmetic,
/// so the overlapping stores write identical bits and no runtime branch handles the tail. The chunk that writes the
/// previous slot is always the one that writes the overlapping slot (see <see cref="ColumnShare"/>).
/// </summary>
internal sealed record ColumnLayout(int Columns, int Lanes, int PanelSlots, int FullPanels, EquatableArray<int> RemainderOffsets)
{
    public int PanelWidth => PanelSlots * Lanes;

    public int SlotCount => FullPanels * PanelSlots + RemainderOffsets.Count;
}

/// <summary>
/// How the chunks of a column-split product divide its columns, one rule for every such product (the feed-forward
/// network's two phases and the projections): chunk c computes the full panels
/// <c>RowPartition.Start/Count(FullPanels, Chunks, c)</c>, and chunk <see cref="RemainderOwner"/> also the remainder
/// block. The remainder's overlapping slot rewrites columns of the slot before it, which is the last full panel's when
/// the remainder has no whole slot, so its owner is the chunk of the last full panel: every column then has exactly
/// one writing chunk.
/// </summary>
internal sealed record ColumnShare(int Chunks, int FullPanels, int RemainderOwner);

/// <summary>How the plain-array instantiation of a product with weights gets each full panel of B into the packed layout's order.</summary>
internal enum PanelCopy
{
    /// <summary>B is read where it lies.</summary>
    None,

    /// <summary>
    /// The chunk's first row tile reads the panel where it lies and stores every B vector it loads into the worker's scratch, so
    /// the copy rides along with that tile's multiply-adds; the chunk's other row tiles read the copy.
    /// </summary>
    InFirstTile,

    /// <summary><c>PanelPacking.PackPanel</c> copies the panel before the row tiles: some chunk has no full row tile to make it.</summary>
    BeforeTiles,
}

/// <summary>
/// One matrix product <c>C = A·B</c> on one ISA branch, as decided: its depth, the column layout (the register tile is
/// <c>RowTile × Layout.PanelSlots</c> vectors), whether its loops are unrolled, whether row tiles run in pairs, and the
/// column share when its chunks split columns, and how its multiply-adds round. Two branches whose plans are equal run the
/// same emitted method.
/// </summary>
internal sealed record ProductPlan(
    int Depth,
    ColumnLayout Layout,
    KernelStrategy Strategy,
    bool PairRowTiles,
    ColumnShare? Share,
    int PackedFloats,
    MultiplyAddForm MultiplyAdd)
{
    public bool Unroll => Strategy == KernelStrategy.FullUnroll;

    /// <summary>
    /// Floats of the worker's scratch into which the plain-array instantiation copies each full panel of B (Depth ×
    /// PanelWidth, k-major, as the packed layout stores it) before its row tiles read it; 0 when B is read in place.
    /// </summary>
    public int PanelScratchFloats { get; init; }

    /// <summary>How the plain-array instantiation copies each full panel into <see cref="PanelScratchFloats"/> (None when it is 0).</summary>
    public PanelCopy PanelCopy { get; init; }

    /// <summary>
    /// Causal scores: a row tile whose last row ends inside a full panel computes only the panel's first slots, up to the
    /// vector that holds that row's key (the keys after it are masked for every row of the tile), instead of the whole
    /// panel. Each output it computes is the same FMA chain as in a whole-panel tile, so no bit changes.
    /// </summary>
    public bool DiagonalSlots { get; init; }
}

/// <summary>A decision and the sentence that explains it, printed in the generated documentation.</summary>
internal sealed record Choice(KernelStrategy Strategy, string Reason);

/// <summary>
/// What one ISA branch runs, decided for that branch alone: per kernel its strategy (from its own largest product),
/// the width score rows are padded to, and every product's plan.
/// </summary>
internal sealed record BranchPlan(
    IsaBranch Isa,
    Choice Attention,
    Choice FeedForward,
    Choice Projection,
    int ScoreColumns,
    ProductPlan Scores,
    ProductPlan AttentionOutput,
    ProductPlan Hidden,
    ProductPlan FeedForwardOutput,
    ProductPlan ProjectionOutput);

/// <summary>
/// How attention's backward pass runs: one chunk per (sequence, head), all of the head's rows at once, with Kᵀ and Vᵀ
/// packed once and the probabilities and score gradients of every row in scratch (<see cref="ScratchFloats"/>), and the
/// sentence that explains the choice.
/// </summary>
/// <remarks>
/// When a call has fewer (sequence, head) pairs than threads, it runs in two phases instead, over a buffer the call's
/// chunks share (<see cref="SharedFloatsPerHead"/> per pair): phase 1 computes P and dS in <see cref="RowParts"/> blocks of
/// rows per head, phase 2 runs dQ, dK and dV as three products, each in <see cref="RowParts"/> blocks of rows. Every
/// output row is still one chunk's, computed by the same bodies in the same order, so the bits do not change.
/// </remarks>
internal sealed record AttentionBackwardPlan(int ScratchFloats, long FlopsPerSequence, string Scheduling, int RowParts, int SharedFloatsPerHead, string SplitReason);

/// <summary>
/// How the feed-forward network's training passes run: on the packing product (weights change at every step, so they
/// are never prepacked), with the weight and bias gradients added in batch order, and the
/// sentence that explains it.
/// </summary>
internal sealed record FeedForwardTrainingPlan(long BackwardFlopsPerSequence, string Scheduling);

/// <summary>
/// How the training's row passes run (LayerNorm forward and backward, the embedding scatter, the cross-entropy), each
/// on the runtime's one definition with the shape's constants: the embedding scatter by blocks of
/// <see cref="ColumnBlock"/> columns (a column has one owner, which walks the rows in order), LayerNorm one sequence per
/// chunk (backward: each sequence's dγ and dβ summed by its chunk, then added in sequence order), the cross-entropy
/// <see cref="CrossEntropyRowsPerChunk"/> rows per chunk; with the sentences that explain them.
/// </summary>
internal sealed record RowPassPlan(
    int ColumnBlock, int CrossEntropyRowsPerChunk, string LayerNormForwardScheduling, string LayerNormBackwardScheduling, string EmbeddingScheduling,
    string CrossEntropyScheduling);

/// <summary>
/// The key/value cache and the decoding kernels of a causal shape (SequenceLength is the context). The cache stores, per
/// (sequence, key/value head), Kᵀ as <see cref="KeyPanelFloats"/> floats (HeadDim rows of <see cref="KeyStride"/>, the
/// forward kernel's score stride, zero-padded, so the forward's Q·Kᵀ bodies read it as they read their packed Kᵀ) and V as
/// SequenceLength rows of KeyValueDim. Prefill stages the prompt's query rows into rows of the sequence and runs the causal
/// kernel's row driver over the row tiles they touch, <see cref="PrefillChunksPerHead"/> chunks per head; a decode step runs
/// one chunk per (new row, head): the causal kernel's Q·Kᵀ, softmax and P·V bodies on the one row tile that holds the row's
/// position, in <see cref="DecodeScratchFloats"/> floats of per-worker scratch: the tile's score rows at 0, its query rows at
/// <see cref="DecodeQueriesOffset"/> and its output rows at <see cref="DecodeOutputsOffset"/>.
/// </summary>
internal sealed record DecodingPlan(
    int KeyStride,
    int KeyPanelFloats,
    int PrefillChunksPerHead,
    int PrefillScratchFloats,
    int DecodeQueriesOffset,
    int DecodeOutputsOffset,
    int DecodeScratchFloats,
    string Layout,
    string Scheduling);

/// <summary>
/// Everything decided about a shape before emission, each decision with its reason: per ISA branch the strategy, tiles
/// and row-tile pairing; the row tail; the attention chunks and blocks; the feed-forward chunks, column split and
/// activation pass; the projection chunks; the column ownership of column-split products; the packed weight sizes and
/// the per-worker scratch. Produced by <c>KernelPlanner.Plan</c>, a pure function, so it is tested without Roslyn; the
/// emitters only render it. Same cache contract as <see cref="ShapeSpec"/>.
/// </summary>
internal sealed record KernelPlan(
    ShapeSpec Shape,
    int RowTile,
    int FullRowTiles,
    int TailRows,
    int ScoreStride,
    int AttentionChunksPerHead,
    int AttentionMaxRowsPerChunk,
    bool AttentionBlocked,
    int AttentionBlockTiles,
    int AttentionBlockRows,
    int AttentionScratchFloats,
    long AttentionFlopsPerSequence,
    AttentionBackwardPlan AttentionBackward,
    int FeedForwardChunksPerSequence,
    int FeedForwardMaxRowsPerChunk,
    int FeedForwardScratchFloats,
    bool FeedForwardColumnSplit,
    string FeedForwardSchedulingReason,
    bool SeparateActivationPass,
    string ActivationReason,
    long FeedForwardFlopsPerSequence,
    FeedForwardTrainingPlan FeedForwardTraining,
    RowPassPlan RowPasses,
    int ProjectionChunksPerSequence,
    long ProjectionFlopsPerSequence,
    long ParallelThresholdFlops,
    EquatableArray<BranchPlan> Branches)
{
    /// <summary>What the kernels do with grouped-query attention (KeyValueHeads below Heads), as one sentence.</summary>
    public string GroupedQuery { get; init; } = "";

    /// <summary>Whether <c>AttentionBackward</c> is generated: not for grouped-query shapes (see <see cref="GroupedQuery"/>).</summary>
    public bool AttentionBackwardGenerated { get; init; } = true;

    /// <summary>The decoding kernels of a causal shape; null for a bidirectional one (no <c>IDecodingKernels</c>).</summary>
    public DecodingPlan? Decoding { get; init; }

    public int RowTiles => FullRowTiles + (TailRows > 0 ? 1 : 0);

    public BranchPlan Branch(IsaBranch isa) => Branches.First(b => b.Isa == isa);

    /// <summary>
    /// The branch whose emitted method <paramref name="isa"/> calls for the part <paramref name="part"/> selects: the
    /// narrowest branch whose part is equal (equal plans emit byte-identical bodies, so one is emitted and shared).
    /// </summary>
    public IsaBranch BodyOwner<T>(IsaBranch isa, Func<BranchPlan, T> part)
    {
        T mine = part(Branch(isa));
        return Branches.Last(b => Equals(part(b), mine)).Isa;
    }

    /// <summary>Where a row-split feed-forward chunk's panel scratch starts in its worker scratch: after the hidden block,
    /// rounded up to a 64-byte line so the panel copies start on one.</summary>
    public int FeedForwardPanelScratchOffset => (FeedForwardScratchFloats + 15) / 16 * 16;

    /// <summary>The worker scratch the plain-array instantiation of <paramref name="products"/> needs for panels copied on
    /// the fly (the largest over branches and products, as one worker runs them one after another), or 0.</summary>
    public int PanelScratchFloats(params Func<BranchPlan, ProductPlan>[] products) =>
        Branches.SelectMany(b => products.Select(p => p(b).PanelScratchFloats)).Max();

    /// <summary>The branches that own a body of <paramref name="part"/>, each once, widest first.</summary>
    public IsaBranch[] BodyOwners<T>(Func<BranchPlan, T> part) =>
        Branches.Select(b => BodyOwner(b.Isa, part)).Distinct().ToArray();
}
