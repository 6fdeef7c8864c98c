// Compiled into the runtime library and, linked, into the generator: the generated kernels bake these numbers
// in at compile time and the generic kernels compute them at run time, from one definition.
// Keep it netstandard2.0-clean.

namespace FixedShapeAttention.Scheduling;

/// <summary>How a kernel call is cut into chunks of (sequence, head, row tiles).</summary>
internal static class ChunkSizing
{
    /// <summary>
    /// Rows per register tile (tinyBLAS's RM) on every width. One value for all widths keeps chunk boundaries and
    /// the row tail of a sequence the same on every ISA branch, so the tail is compile-time in generated code.
    /// </summary>
    public const int RowTile = 4;

    /// <summary>
    /// Below this many floating-point operations per call a kernel runs on the calling thread: about 1 µs of one core.
    /// Handing chunks to the worker pool costs ~0.2 µs when its workers are spinning (they spin 100 µs after a job; an
    /// empty two-chunk call measured 198 ns) and a semaphore release when they have gone to sleep; the caller never
    /// waits for a sleeping worker, it claims the chunks itself. (It was 4 MFLOP while chunks ran on
    /// <c>Parallel.For</c>, ~10 µs per empty call.)
    /// </summary>
    public const long ParallelThresholdFlops = 250_000;

    /// <summary>
    /// The largest hidden-activation block (rows × FfnDim floats) a feed-forward chunk keeps: 2 MiB, which L2 and L3
    /// hold between the two products. Only one row tile of it is hot at a time, so it need not fit L2.
    /// </summary>
    public const int MaxHiddenChunkFloats = 1 << 19;

    /// <summary>
    /// Feed-forward chunks per sequence when the hidden block allows fewer: enough for 2–4 threads to share one
    /// sequence. Every chunk streams all of W1 and W2 through the cache once, so chunks are as few and as tall as this
    /// and the hidden block allow, never sized by a work target as attention chunks are.
    /// </summary>
    public const int MinFeedForwardChunks = 4;

    public static int RowTiles(int sequenceLength) => (sequenceLength + RowTile - 1) / RowTile;

    /// <summary>Attention flops of one (sequence, head): Q·Kᵀ and P·V, 2·S²·d each.</summary>
    public static long AttentionFlopsPerHead(int sequenceLength, int headDim) => 4L * sequenceLength * sequenceLength * headDim;

    /// <summary>Feed-forward flops of one sequence: two products of 2·S·E·F each.</summary>
    public static long FeedForwardFlopsPerSequence(int sequenceLength, int embeddingDim, int ffnDim) => 4L * sequenceLength * embeddingDim * ffnDim;

    /// <summary>
    /// The fewest row tiles of an attention chunk when a head is split so that threads can share a call with too few
    /// heads (a one-head shape): 16 rows, so the chunk's own Kᵀ copy stays under a sixth of its time even at 32 tokens.
    /// </summary>
    public const int MinTilesPerAttentionChunk = 4;

    /// <summary>Attention chunks a call of one sequence should have at least, when its heads allow: enough for 2–4 threads.</summary>
    public const int MinAttentionChunksPerSequence = 4;

    /// <summary>
    /// How many chunks the row tiles of one (sequence, head) are cut into. A head is one chunk unless the shape has
    /// fewer heads than <see cref="MinAttentionChunksPerSequence"/>: every chunk packs Kᵀ of its head (at 512 tokens
    /// that copy was a fifth of the call when heads were cut into 64-row chunks), and a long head keeps its scores
    /// in cache by walking its rows in blocks (<see cref="AttentionBlockTiles"/>) instead.
    /// </summary>
    public static int AttentionChunksPerHead(int sequenceLength, int heads)
    {
        int tiles = RowTiles(sequenceLength);
        int forBalance = (MinAttentionChunksPerSequence + heads - 1) / heads;
        return Clamp(System.Math.Min(forBalance, tiles / MinTilesPerAttentionChunk), tiles);
    }

    /// <summary>The score rows an attention chunk holds at once: 32 Ki floats (128 KiB), so they stay in L2 beside Kᵀ and V
    /// from Q·Kᵀ through softmax to P·V.</summary>
    public const int AttentionScoreBlockFloats = 1 << 15;

    /// <summary>Row tiles per block of score rows, for score rows of <paramref name="scoreStride"/> floats: at least one.</summary>
    public static int AttentionBlockTiles(int scoreStride) => System.Math.Max(1, AttentionScoreBlockFloats / scoreStride / RowTile);

    /// <summary>How many chunks the row tiles of one sequence are cut into for the feed-forward network.</summary>
    public static int FeedForwardChunksPerSequence(int sequenceLength, int embeddingDim, int ffnDim)
    {
        int tiles = RowTiles(sequenceLength);
        int tilesPerChunkForCache = System.Math.Max(1, MaxHiddenChunkFloats / (RowTile * ffnDim));
        long byCache = (tiles + tilesPerChunkForCache - 1) / tilesPerChunkForCache;
        return Clamp(System.Math.Max(byCache, MinFeedForwardChunks), tiles);
    }

    /// <summary>Projection flops of one sequence: 2·S·E·E.</summary>
    public static long ProjectionFlopsPerSequence(int sequenceLength, int embeddingDim) => 2L * sequenceLength * embeddingDim * embeddingDim;

    /// <summary>
    /// How many chunks the row tiles of one sequence are cut into for a projection. Like the feed-forward network,
    /// every chunk streams all of W, so chunks are as few as still let 2–4 threads share one sequence.
    /// </summary>
    public static int ProjectionChunksPerSequence(int sequenceLength) => Clamp(MinFeedForwardChunks, RowTiles(sequenceLength));

    /// <summary>
    /// Column chunks per sequence of a generated projection: each takes every row and a quarter of W's column panels,
    /// so W is read once per sequence however short it is (row chunks of a 16-token sequence would each stream all of W
    /// for four rows). Four keep 2–4 threads busy on one sequence.
    /// </summary>
    public const int ProjectionColumnChunks = 4;

    /// <summary>
    /// The most hidden activations (SequenceLength × FfnDim floats) per sequence of a generated feed-forward network that
    /// splits columns instead of rows: 4 Mi floats, 16 MiB, half the 32 MiB L3 of the CPUs this is tuned on. Row chunks each
    /// stream all of W1 and W2 (BERT-base at 512 tokens: 4 chunks, 18.9 MB each, and the plain-array overload copies every
    /// panel for each), while the two phases of the column split read each weight once per sequence and keep the hidden rows
    /// of the whole call in between, which phase 2 reads once per panel of W2, from L3 up to this size. The bound admits
    /// every sequence up to 128 tokens at the largest FfnDim (32768) and BERT-base at 512 tokens (6 MiB).
    /// </summary>
    public const int MaxColumnSplitHiddenFloats = 1 << 22;

    /// <summary>
    /// The smallest W1 + W2 (in floats) whose generated feed-forward network splits columns: 256 Ki floats, 1 MiB, the
    /// L2 of a core. Below it the weights stay in L2 and a row chunk re-reads them for free, while the column split
    /// costs a second hand-off to the worker pool and a wait between its phases (at 32 tokens × 64 × 256 it made two
    /// threads slower than the row-split generic kernel).
    /// </summary>
    public const int MinColumnSplitWeightFloats = 1 << 18;

    /// <summary>Whether the generated feed-forward network of this shape splits columns rather than rows.</summary>
    public static bool FeedForwardSplitsColumns(int sequenceLength, int embeddingDim, int ffnDim) =>
        (long)sequenceLength * ffnDim <= MaxColumnSplitHiddenFloats && 2L * embeddingDim * ffnDim >= MinColumnSplitWeightFloats;

    /// <summary>The most row tiles any chunk holds (balanced partition: the first chunks carry one extra).</summary>
    public static int MaxTilesPerChunk(int tiles, int chunks) => (tiles + chunks - 1) / chunks;

    private static int Clamp(long parts, int tiles) => (int)System.Math.Min(System.Math.Max(parts, 1), tiles);

    /// <summary>
    /// Chunks the training's row passes split a row's width or a sequence's rows into (LayerNorm's dγ and dβ, the embedding
    /// scatter, the cross-entropy rows): enough for 2–4 threads on one sequence. Their work is linear in the activations, a
    /// few per cent of a step, so the split only has to keep cores from idling, and none of them changes a bit.
    /// </summary>
    public const int RowPassChunks = 4;

    /// <summary>Column block of a column-owned row pass: <see cref="RowPassChunks"/> blocks of whole 16-float vectors (one
    /// block when the width is below that).</summary>
    public static int RowPassColumnBlock(int width) => System.Math.Min(width, ((width + RowPassChunks - 1) / RowPassChunks + 15) / 16 * 16);

    /// <summary>Rows per cross-entropy chunk: a sequence in <see cref="RowPassChunks"/> parts (fewer for a shorter sequence).</summary>
    public static int RowPassRowsPerChunk(int sequenceLength) => (sequenceLength + RowPassChunks - 1) / RowPassChunks;
}
