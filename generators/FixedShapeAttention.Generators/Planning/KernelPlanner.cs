using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FixedShapeAttention.Generators.Model;
using FixedShapeAttention.Kernels;
using FixedShapeAttention.Scheduling;

namespace FixedShapeAttention.Generators.Planning;

/// <summary>
/// Turns a validated <see cref="ShapeSpec"/> into a <see cref="KernelPlan"/>. Pure: no Roslyn, no state. Every choice
/// the generated code embodies is made here (or in the tables it reads: <see cref="TileTable"/>,
/// <see cref="ChunkSizing"/>), so the emitters only render the plan.
/// </summary>
internal static class KernelPlanner
{
    private static readonly IsaBranch[] s_branches = { IsaBranch.Vector512, IsaBranch.Vector256, IsaBranch.Vector128, IsaBranch.Scalar };

    public static KernelPlan Plan(ShapeSpec shape)
    {
        int s = shape.SequenceLength, e = shape.EmbeddingDim, f = shape.FfnDim;
        int rowTile = ChunkSizing.RowTile;
        int tiles = ChunkSizing.RowTiles(s);
        int fullRowTiles = s / rowTile;
        int scoreStride = RoundUp(s, (int)IsaBranch.Vector512);

        int attentionChunks = ChunkSizing.AttentionChunksPerHead(s, shape.Heads);
        int attentionRowsPerChunk = Math.Min(s, ChunkSizing.MaxTilesPerChunk(tiles, attentionChunks) * rowTile);
        int blockTiles = ChunkSizing.AttentionBlockTiles(scoreStride);
        bool attentionBlocked = attentionRowsPerChunk > blockTiles * rowTile + s % rowTile;
        int attentionBlockRows = attentionBlocked ? blockTiles * rowTile + s % rowTile : attentionRowsPerChunk;
        // Full row tiles one call of P·V can see at once: the pair loop is dead code below two.
        int attentionTilesAtOnce = (attentionBlocked ? attentionBlockRows : attentionRowsPerChunk) / rowTile;

        int feedForwardChunks = ChunkSizing.FeedForwardChunksPerSequence(s, e, f);
        int feedForwardRowsPerChunk = Math.Min(s, ChunkSizing.MaxTilesPerChunk(tiles, feedForwardChunks) * rowTile);

        var branches = new List<BranchPlan>();
        foreach (IsaBranch isa in s_branches)
        {
            branches.Add(PlanBranch(isa, shape, scoreStride, attentionTilesAtOnce));
        }

        // A branch's FFN splits columns only if it is blocked: a fully unrolled FFN is too small to be worth two phases.
        // The decision must be the same on every branch (the public method's scheduling does not know the branch), so
        // it follows the weights alone, and an unrolled branch is then planned with the split as well.
        bool columnSplit = ChunkSizing.FeedForwardSplitsColumns(s, e, f) && branches.Any(b => b.FeedForward.Strategy == KernelStrategy.Blocked);
        int columnChunks = ChunkSizing.ProjectionColumnChunks;
        bool projectionSplit = branches.Any(b => b.Projection.Strategy == KernelStrategy.Blocked);
        // The fewest full row tiles a chunk of the product has: a column-split or projection chunk takes every row; a row
        // chunk at least its balanced share, less the tail tile, which the last (a smallest) chunk holds.
        int feedForwardFullTiles = columnSplit ? fullRowTiles : tiles / feedForwardChunks - (s % rowTile > 0 ? 1 : 0);
        for (int i = 0; i < branches.Count; i++)
        {
            BranchPlan b = branches[i];
            branches[i] = b with
            {
                Hidden = PanelsOnTheFly(columnSplit ? Shared(b.Hidden, columnChunks) : b.Hidden, feedForwardFullTiles),
                FeedForwardOutput = PanelsOnTheFly(columnSplit ? Shared(b.FeedForwardOutput, columnChunks) : b.FeedForwardOutput, feedForwardFullTiles),
                ProjectionOutput = PanelsOnTheFly(projectionSplit ? Shared(b.ProjectionOutput, columnChunks) : b.ProjectionOutput, fullRowTiles),
            };
        }

        string feedForwardScheduling = columnSplit
            ? $"columns split, not rows (W1 + W2 ≥ {ChunkSizing.MinColumnSplitWeightFloats * 4 / 1024 / 1024} MiB, which row chunks would " +
              $"each stream, and hidden rows of {(long)s * f * 4 / 1024} KiB per sequence, within {ChunkSizing.MaxColumnSplitHiddenFloats * 4L / 1024 / 1024} MiB): " +
              $"phase 1 = {columnChunks} chunks per sequence, each all rows × " +
              $"a share of W1's column panels, into the call's hidden rows; phase 2 = {columnChunks} chunks per sequence over W2's columns; " +
              "so each weight is read once per sequence"
            : $"{feedForwardChunks} chunk{Plural(feedForwardChunks)} per sequence of at most {feedForwardRowsPerChunk} rows " +
              $"(hidden block {feedForwardRowsPerChunk * f * 4 / 1024} KiB)";

        // ReLU is one instruction and stays in the tile's epilogue; the smooth activations run as a pass of their own
        // (see ActivationPass: inlined into every tile they pushed the accumulators out of registers).
        bool separatePass = shape.Activation != ActivationKind.Relu;
        string activationReason = separatePass
            ? $"{shape.Activation} runs as a pass over the hidden block after x·W1 + b1: inlined into the register tile's epilogue, a long activation pushed the accumulators out of registers"
            : "ReLU is one instruction, applied in the register tile's epilogue";

        bool grouped = shape.KeyValueHeads != shape.Heads;
        string groupedQuery = grouped
            ? $"grouped-query attention: K and V have {shape.KeyValueDim} columns ({shape.KeyValueHeads} key/value heads of {shape.HeadDim}); query head h reads " +
              $"key/value head h / {shape.GroupSize} in Attention, AttentionForTraining, Prefill and DecodeStep. AttentionBackward is not generated for it " +
              $"(dK and dV would sum over the {shape.GroupSize} query heads of a group, which the one-chunk-per-(sequence, head) schedule does not do): " +
              "it throws NotSupportedException before any write"
            : $"one key/value head per query head: K and V have {shape.EmbeddingDim} columns, like Q";

        return new KernelPlan(
            shape,
            rowTile,
            fullRowTiles,
            TailRows: s % rowTile,
            scoreStride,
            attentionChunks,
            attentionRowsPerChunk,
            attentionBlocked,
            blockTiles,
            attentionBlockRows,
            AttentionScratchFloats: (shape.HeadDim + attentionBlockRows) * scoreStride,
            AttentionFlopsPerSequence: shape.Heads * ChunkSizing.AttentionFlopsPerHead(s, shape.HeadDim),
            PlanAttentionBackward(shape, scoreStride),
            FeedForwardChunksPerSequence: columnSplit ? columnChunks : feedForwardChunks,
            feedForwardRowsPerChunk,
            FeedForwardScratchFloats: feedForwardRowsPerChunk * f,
            columnSplit,
            feedForwardScheduling,
            separatePass,
            activationReason,
            ChunkSizing.FeedForwardFlopsPerSequence(s, e, f),
            new FeedForwardTrainingPlan(
                // dW2, dG, dW1 and dX: four products of 2·S·E·F.
                BackwardFlopsPerSequence: 2 * ChunkSizing.FeedForwardFlopsPerSequence(s, e, f),
                Scheduling: "the packing product copies each panel of op(B) once per call into per-thread scratch (weights change at every " +
                    "step, so nothing is prepacked) and splits C's column panels and row tiles across threads; the weight and bias gradients are " +
                    "added in batch order (each weight gradient element one multiply-add chain over the rows, continuing from what the gradient holds; each " +
                    $"bias gradient summed one sequence ({s} rows) at a time), so a batch and its micro-batches of whole sequences give the same bits"),
            PlanRowPasses(shape),
            ProjectionChunksPerSequence: projectionSplit ? columnChunks : 1,
            ChunkSizing.ProjectionFlopsPerSequence(s, e),
            ChunkSizing.ParallelThresholdFlops,
            branches.ToEquatableArray())
        {
            GroupedQuery = groupedQuery,
            AttentionBackwardGenerated = !grouped,
            Decoding = shape.Causal ? PlanDecoding(shape, scoreStride, attentionChunks, attentionBlockRows) : null,
        };
    }

    /// <summary>
    /// The cache layout and the decoding kernels' chunks (see <see cref="DecodingPlan"/>). Kᵀ in the cache has the forward
    /// kernel's score stride, so its Q·Kᵀ bodies (and their causal column skip) read the cache as they read a packed head; a
    /// decode step's one row runs as the row tile that holds its position, so its scores, softmax and P·V are the same
    /// FMA chains in the same order as that row's in the forward kernel: the same bits.
    /// </summary>
    private static DecodingPlan PlanDecoding(ShapeSpec shape, int scoreStride, int attentionChunks, int attentionBlockRows)
    {
        int s = shape.SequenceLength, e = shape.EmbeddingDim, d = shape.HeadDim, rowTile = ChunkSizing.RowTile;
        int panel = d * scoreStride;
        long perSequence = (long)shape.KeyValueHeads * panel + (long)s * shape.KeyValueDim;
        string layout = $"per (layer, sequence): Kᵀ as {shape.KeyValueHeads} panel{Plural(shape.KeyValueHeads)} of {d} × {scoreStride} (a column per token, " +
            $"zero-padded to the score stride) and V as {s} rows of {shape.KeyValueDim}: {perSequence * 4 / 1024} KiB; a prefill stages its query and output " +
            $"rows in two {s} × {e} blocks the cache owns";
        string scheduling = $"Prefill: {attentionChunks} chunk{Plural(attentionChunks)} per head over the row tiles the prompt touches, the causal kernel's rows " +
            $"driver on the staged rows; DecodeStep: 1 chunk per (row, head), the causal kernel's Q·Kᵀ, softmax and P·V on the {rowTile}-row tile that holds " +
            "the row's position (the tile's other rows are computed and dropped: a step reads the cache once whatever the rows, and the row's arithmetic " +
            "is that of the forward kernel, so a cached step gives the bits of a full recompute)";
        // A decode step's scratch: the row tile's score rows, then its query rows and its output rows, each a whole
        // EmbeddingDim wide (the head in the first HeadDim columns), as the forward kernel's bodies address their rows.
        int queriesOffset = rowTile * scoreStride, outputsOffset = queriesOffset + rowTile * e;
        return new DecodingPlan(
            scoreStride,
            panel,
            attentionChunks,
            PrefillScratchFloats: attentionBlockRows * scoreStride,
            DecodeQueriesOffset: queriesOffset,
            DecodeOutputsOffset: outputsOffset,
            DecodeScratchFloats: outputsOffset + rowTile * e,
            layout,
            scheduling);
    }

    /// <summary>
    /// Attention backward keeps a head's T × T probabilities and score gradients at once: dK and dV sum over every query
    /// row, so a chunk that owned a block of rows would have to add its share into keys other chunks own (not
    /// deterministic without a reduction). One chunk per (sequence, head) owns its head's dQ, dK and dV columns outright.
    /// </summary>
    private static AttentionBackwardPlan PlanAttentionBackward(ShapeSpec shape, int scoreStride)
    {
        int s = shape.SequenceLength, d = shape.HeadDim;
        long scratch = 2L * (d + s) * scoreStride;
        // Five products of 2·S·S·HeadDim per head: S, dP, dQ, dK, dV.
        long flops = 5L * shape.Heads * 2L * s * s * d;
        string scheduling = $"1 chunk per (sequence, head), all {s} rows at once: dK and dV sum over every query row, so the head's chunk owns them outright " +
            $"and the result does not depend on the thread count; scratch Kᵀ, Vᵀ ({d} × {scoreStride} each), P and dS ({s} × {scoreStride} each), " +
            $"{scratch * 4 / 1024} KiB per worker";
        // Phase 2 has three products per head; row parts of at least one tile each, at most four, cover eight or more threads
        // with one head and leave each part a few tiles of work.
        int rowParts = Math.Min(ChunkSizing.RowTiles(s), 4);
        long shared = 2L * s * scoreStride;
        string split = $"with fewer (sequence, head) pairs than threads, two phases over a buffer the call shares ({shared * 4 / 1024} KiB per pair): " +
            $"P and dS in {rowParts} row block{Plural(rowParts)} per head, then dQ, dK and dV as {3 * rowParts} chunks per head";
        return new AttentionBackwardPlan((int)scratch, flops, scheduling, rowParts, (int)shared, split);
    }

    /// <summary>
    /// The training's row passes. The embedding rows a repeated token collects are split by columns, not rows: a column's
    /// owner walks the rows in order, so no two chunks add into one element and nothing has to be reduced afterwards.
    /// LayerNorm's backward pass is split by sequences, each summing its own dγ and dβ, added in sequence order after the
    /// chunks (one read of each row instead of one for the sums and one for dx). Row-local work (LayerNorm's rows, the
    /// cross-entropy's rows) is split by rows.
    /// </summary>
    private static RowPassPlan PlanRowPasses(ShapeSpec shape)
    {
        int s = shape.SequenceLength, e = shape.EmbeddingDim;
        int block = ChunkSizing.RowPassColumnBlock(e);
        int columnChunks = (e + block - 1) / block;
        int rowsPerChunk = ChunkSizing.RowPassRowsPerChunk(s);
        string columns = $"{columnChunks} chunk{Plural(columnChunks)} of {block} column{Plural(block)}";
        string layerNormForward = "1 chunk per sequence, each row alone (the decoder's row function, so the bits do not depend on the chunks)";
        string layerNormBackward = $"1 chunk per sequence, one pass: each row's share of dγ and dβ, summed down the sequence's {s} rows from " +
            "zero into the chunk's own sums, then the row's dx (which may overwrite dy); the sums added to dγ and dβ in sequence order after the " +
            "chunks, so no element depends on the chunking and the bits are the same for every thread count and for micro-batches of whole sequences";
        string embedding = $"{columns} of every embedding row, each walking the rows in order (a repeated token's rows add in row order, without " +
            "a race or a reduction buffer)";
        string crossEntropy = $"{rowsPerChunk} row{Plural(rowsPerChunk)} per chunk, each row's gradient alone; the chunks' loss sums (double, rows " +
            "in order) added in chunk order";
        return new RowPassPlan(block, rowsPerChunk, layerNormForward, layerNormBackward, embedding, crossEntropy);
    }

    /// <summary>
    /// RN of a product on a branch. Float slots take the scalar branch's RN on every branch: their accumulators live in
    /// the 16 xmm registers every x64 CPU has, whichever branch runs them (so a product narrower than four columns is
    /// one body shared by all branches).
    /// </summary>
    public static int PanelSlots(IsaBranch isa, int lanes) => TileTable.PanelSlots(lanes == 1 ? 1 : (int)isa);

    public static ColumnLayout Layout(IsaBranch isa, int columns, int? panelSlotsOverride = null)
    {
        int lanes = TileTable.LanesFor((int)isa, columns);
        int panelSlots = panelSlotsOverride ?? PanelSlots(isa, lanes);
        int fullVectors = columns / lanes;
        int fullPanels = fullVectors / panelSlots;
        var remainder = new List<int>();
        for (int slot = fullPanels * panelSlots; slot < fullVectors; slot++)
        {
            remainder.Add(slot * lanes);
        }

        if (columns % lanes != 0)
        {
            remainder.Add(columns - lanes);
        }

        // At most PanelSlots − 1 whole slots are left over, plus the overlapping one: the remainder fits one panel. A product
        // narrower than one panel has only the remainder, whose slots are then its whole register tile: RN is their count,
        // so branches that differ only in a panel width they never use have equal layouts (and share one body).
        return new ColumnLayout(columns, lanes, fullPanels == 0 ? remainder.Count : panelSlots, fullPanels, remainder.ToEquatableArray());
    }

    /// <summary>
    /// The one ownership rule of column-split products: chunk c takes the balanced share of full panels, and the chunk
    /// that holds the last full panel (the first chunks carry the extra panel) also takes the remainder block, whose
    /// overlapping slot rewrites columns of that panel's last slot.
    /// </summary>
    public static ColumnShare Share(ColumnLayout layout, int chunks) =>
        new(chunks, layout.FullPanels, layout.FullPanels == 0 ? 0 : Math.Min(chunks, layout.FullPanels) - 1);

    private static ProductPlan Shared(ProductPlan product, int chunks) => product with { Share = Share(product.Layout, chunks) };

    private static BranchPlan PlanBranch(IsaBranch isa, ShapeSpec shape, int scoreStride, int attentionTilesAtOnce)
    {
        int s = shape.SequenceLength, e = shape.EmbeddingDim, f = shape.FfnDim, d = shape.HeadDim;
        // Score rows are padded to whole vectors (the padding gets -inf, so weight 0) so softmax needs no tail.
        int scoreLanes = TileTable.LanesFor((int)isa, s);
        int scoreColumns = RoundUp(s, scoreLanes);
        ColumnLayout scores = Layout(isa, scoreColumns);
        int outputLanes = TileTable.LanesFor((int)isa, d);
        ColumnLayout attentionOutput = Layout(isa, d, outputLanes == 1 ? null : TileTable.AttentionOutputPanelSlots((int)isa, outputLanes));
        ColumnLayout hidden = Layout(isa, f);
        ColumnLayout output = Layout(isa, e);

        Choice attention = ChooseStrategy(isa, ("Q·Kᵀ", d, scores), ("P·V", s, attentionOutput));
        Choice feedForward = ChooseStrategy(isa, ("x·W1", e, hidden), ("h·W2", f, output));
        Choice projection = ChooseStrategy(isa, ("x·W", e, output));

        // Pairs only where a call sees two full row tiles; unrolled code is straight-line already.
        bool pairs = attention.Strategy == KernelStrategy.Blocked && attentionTilesAtOnce >= 2
            && TileTable.PairsRowTiles((int)isa, attentionOutput.SlotCount, attentionOutput.Lanes, attentionOutput.PanelSlots);

        return new BranchPlan(
            isa,
            attention,
            feedForward,
            projection,
            scoreColumns,
            Scores: WithDiagonalSlots(shape, Product(d, scores, attention.Strategy, false, 0)),
            AttentionOutput: Product(s, attentionOutput, attention.Strategy, pairs, 0),
            Hidden: Product(e, hidden, feedForward.Strategy, false, PackedFloats(PackedLayout.FeedForwardW1Floats((int)isa, e, f))),
            FeedForwardOutput: Product(f, output, feedForward.Strategy, false, PackedFloats(PackedLayout.FeedForwardW2Floats((int)isa, e, f))),
            ProjectionOutput: Product(e, output, projection.Strategy, false, PackedFloats(PackedLayout.ProjectionFloats((int)isa, e))));
    }

    /// <summary>
    /// Whether causal Q·Kᵀ narrows the tiles on the diagonal to the slots that reach their last row (see
    /// <see cref="ProductPlan.DiagonalSlots"/>): with whole panels of 64 keys a causal 128-row head computed 75 % of its
    /// square against the 50 % it needs, and the scores are three of the seven causal products of a training step's attention.
    /// Only for blocked loops over panels of more than one slot: an unrolled body would repeat its whole depth once per
    /// narrower tile, and a one-slot panel has nothing to narrow. Not with paired row tiles or a panel copy either: their
    /// first tiles already run before the loop, so the emitter has no place for the narrower ones.
    /// </summary>
    private static ProductPlan WithDiagonalSlots(ShapeSpec shape, ProductPlan scores) => scores with
    {
        DiagonalSlots = shape.Causal && scores.Strategy == KernelStrategy.Blocked && scores.Layout.FullPanels > 0 && scores.Layout.PanelSlots > 1
            && !scores.PairRowTiles && scores.PanelCopy == PanelCopy.None,
    };

    private static ProductPlan Product(int depth, ColumnLayout layout, KernelStrategy strategy, bool pairRowTiles, int packedFloats) =>
        new(depth, layout, strategy, pairRowTiles, null, packedFloats, MultiplyAddFor(layout.Lanes));

    /// <summary>
    /// The multiply-add of a product's slots, by their width (not the branch's: a narrow product on a wide branch has
    /// Vector128 slots, and must compute the bits the Vector128 branch computes). See <see cref="MultiplyAddForm"/>.
    /// </summary>
    public static MultiplyAddForm MultiplyAddFor(int lanes) => lanes switch
    {
        1 => MultiplyAddForm.MultiplyThenAdd,
        4 => MultiplyAddForm.FusedWhereAvailable,
        _ => MultiplyAddForm.Fused,
    };

    /// <summary>
    /// Whether the plain-array instantiation of a product with weights copies each full panel of B into the worker's
    /// scratch before the panel's row tiles (GotoBLAS's packing on the fly): for a B of at least
    /// <see cref="PanelsOnTheFlyMinBytes"/> in blocked loops with more than one panel. Read in place, such a panel's k
    /// rows lie a whole row of B apart, so each step touches lines and pages of its own (a stride of a multiple of 4 KiB
    /// maps every row of a panel onto the same few L1 sets); copied, the panel is one contiguous run, read as the prepacked
    /// overload reads it, by the same multiply-adds in the same order. A smaller B stays in cache either way, and an
    /// unrolled product has no panel loop to hoist the copy out of.
    /// <para>
    /// The copy is made by the chunk's first row tile (<see cref="PanelCopy.InFirstTile"/>) when every chunk has a full row
    /// tile (<paramref name="fewestFullTiles"/>): it loads the panel in place for its own multiply-adds anyway, so storing
    /// each vector as well hides the copy behind them (a copy before the tiles is a pass of its own, strided reads from L3 the
    /// core waits on). Otherwise <c>PanelPacking.PackPanel</c> copies it before the tiles (<see cref="PanelCopy.BeforeTiles"/>).
    /// </para>
    /// </summary>
    private static ProductPlan PanelsOnTheFly(ProductPlan product, int fewestFullTiles)
    {
        long bytes = 4L * product.Depth * product.Layout.Columns;
        bool packs = !product.Unroll && !product.PairRowTiles && product.Layout.FullPanels > 1 && bytes >= PanelsOnTheFlyMinBytes;
        return packs
            ? product with
            {
                PanelScratchFloats = product.Depth * product.Layout.PanelWidth,
                PanelCopy = fewestFullTiles > 0 ? PanelCopy.InFirstTile : PanelCopy.BeforeTiles,
            }
            : product;
    }

    /// <summary>Half of the 1 MiB L2 of the CPUs this is tuned on (Zen 4 and 5); see <see cref="PanelsOnTheFly"/>.</summary>
    public const int PanelsOnTheFlyMinBytes = 512 * 1024;

    /// <summary>
    /// Floats of one packed B, by the runtime's <see cref="PackedLayout"/>: the Pack method allocates this many and
    /// PackedFeedForwardWeights / PackedProjectionWeights accept exactly this many, so the two cannot disagree. The shape
    /// rules bound it by MaxEmbeddingDim × (MaxFfnDim + 16) &lt; 2³¹, so the narrowing never loses a digit.
    /// </summary>
    private static int PackedFloats(long floats) => (int)floats;

    /// <summary>
    /// A kernel's strategy on one branch, from that branch's products alone: the multiply-add statements its register
    /// tiles need when unrolled (RM rows × column slots × depth, summed over the kernel's products) against
    /// <see cref="TileTable.UnrollBudget"/>. Straight-line code saves a loop step per k and panel, which only pays for
    /// products that small; beyond it the code grows faster than it helps.
    /// </summary>
    private static Choice ChooseStrategy(IsaBranch isa, params (string Name, int Depth, ColumnLayout Layout)[] products)
    {
        int rows = ChunkSizing.RowTile;
        long statements = products.Sum(p => (long)rows * p.Layout.SlotCount * p.Depth);
        string terms = string.Join(" + ", products.Select(p => string.Format(
            CultureInfo.InvariantCulture, "{0} {1} × {2} slot{3} × {4} deep", p.Name, rows, p.Layout.SlotCount, Plural(p.Layout.SlotCount), p.Depth)));
        string detail = $"{terms} = {statements} multiply-add statements";
        return statements <= TileTable.UnrollBudget
            ? new Choice(KernelStrategy.FullUnroll, $"{Describe(isa)} full unroll ({detail}, within the budget of {TileTable.UnrollBudget})")
            : new Choice(KernelStrategy.Blocked, $"{Describe(isa)} blocked loops ({detail}, above the unroll budget of {TileTable.UnrollBudget})");
    }

    public static string Describe(IsaBranch isa) => isa switch
    {
        IsaBranch.Vector512 => "Vector512",
        IsaBranch.Vector256 => "Vector256",
        IsaBranch.Vector128 => "Vector128",
        _ => "scalar",
    };

    private static string Plural(int count) => count == 1 ? "" : "s";

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
