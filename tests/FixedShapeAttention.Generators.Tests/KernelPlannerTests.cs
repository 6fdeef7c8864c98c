using System;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using System.Collections.Generic;
using FixedShapeAttention.CompilerServices;
using FixedShapeAttention.Generators.Model;
using FixedShapeAttention.Generators.Planning;
using Xunit;
using FixedShapeAttention.Kernels;

namespace FixedShapeAttention.Generators.Tests;

/// <summary>
/// KernelPlanner.Plan is a pure ShapeSpec → KernelPlan function, so its decisions are tested here without Roslyn:
/// strategy and its stated reason, column layouts and lanes, the row tail and the chunking.
/// </summary>
public sealed class KernelPlannerTests
{
    private static KernelPlan Plan(int sequenceLength, int embeddingDim, int ffnDim, int heads = 1, bool causal = false) =>
        KernelPlanner.Plan(new ShapeSpec(
            new TypeHierarchy("Demo", EquatableArray<string>.Empty, "Shape"),
            sequenceLength, embeddingDim, ffnDim, heads, causal, ActivationKind.Relu));

    /// <summary>Shapes for the invariant theories: tiny, the canonical three, a non-multiple of the row tile, the maxima.</summary>
    public static TheoryData<int, int, int, int> Shapes => new()
    {
        { 1, 1, 1, 1 },
        { 4, 3, 12, 1 },
        { 13, 20, 36, 4 },
        { 17, 64, 256, 2 },
        { 128, 384, 1536, 12 },
        { 197, 768, 3072, 12 },
        { 8192, 8192, 32768, 64 },
    };

    [Fact]
    public void Grouped_query_attention_is_planned_with_what_it_supports()
    {
        var grouped = new ShapeSpec(new TypeHierarchy("Demo", EquatableArray<string>.Empty, "Shape"), 64, 128, 256, 8, true, ActivationKind.Relu) { KeyValueHeads = 2 };
        KernelPlan plan = KernelPlanner.Plan(grouped);
        Assert.Equal(4, grouped.GroupSize);
        Assert.Equal(32, grouped.KeyValueDim);
        Assert.False(plan.AttentionBackwardGenerated);
        Assert.Contains("key/value head h / 4", plan.GroupedQuery, StringComparison.Ordinal);
        Assert.Contains("AttentionBackward is not generated", plan.GroupedQuery, StringComparison.Ordinal);
        // The cache: two Kᵀ panels of 16 × 64 and 64 value rows of 32 per sequence; a decode step's scratch is a tile of scores, queries and outputs.
        Assert.NotNull(plan.Decoding);
        Assert.Equal(64, plan.Decoding!.KeyStride);
        Assert.Equal(16 * 64, plan.Decoding.KeyPanelFloats);
        Assert.Equal(4 * 64, plan.Decoding.DecodeQueriesOffset);
        Assert.Equal(4 * 64 + 4 * 128, plan.Decoding.DecodeOutputsOffset);
        Assert.Equal(4 * 64 + 2 * 4 * 128, plan.Decoding.DecodeScratchFloats);

        KernelPlan ungrouped = Plan(64, 128, 256, heads: 8, causal: true);
        Assert.True(ungrouped.AttentionBackwardGenerated);
        Assert.Equal(8, ungrouped.Shape.KeyValueHeads);
        Assert.Null(Plan(64, 128, 256, heads: 8).Decoding);
    }

    [Fact]
    public void Worked_example_unrolls_only_the_kernels_within_the_budget()
    {
        KernelPlan plan = Plan(4, 3, 12);

        // Each branch decides from its own products. The projection is 4 rows × 3 float slots × 3 deep = 36 statements.
        Assert.All(plan.Branches, b => Assert.Equal(KernelStrategy.FullUnroll, b.Projection.Strategy));
        Assert.All(plan.Branches, b => Assert.Contains("full unroll (x·W 4 × 3 slots × 3 deep = 36", b.Projection.Reason, StringComparison.Ordinal));
        // Attention's two products together: Vector512 and Vector256 4 × 1 × 3 + 4 × 3 × 4 = 60, scalar 48 + 48 = 96.
        Assert.All(plan.Branches, b => Assert.Equal(KernelStrategy.Blocked, b.Attention.Strategy));
        Assert.Contains("= 60 multiply-add statements", plan.Branch(IsaBranch.Vector512).Attention.Reason, StringComparison.Ordinal);
        Assert.Contains("= 96 multiply-add statements", plan.Branch(IsaBranch.Scalar).Attention.Reason, StringComparison.Ordinal);
        // h·W2 is 12 deep: 4 rows × 3 float slots × 12 = 144 multiply-adds, above the budget on every branch.
        Assert.All(plan.Branches, b => Assert.Equal(KernelStrategy.Blocked, b.FeedForward.Strategy));
        Assert.Equal((1, 0, 1), (plan.FullRowTiles, plan.TailRows, plan.RowTiles));
    }

    [Fact]
    public void MiniLm_is_blocked_because_it_is_over_the_unroll_budget()
    {
        KernelPlan plan = Plan(128, 384, 1536, heads: 12);

        string budget = $"above the unroll budget of {TileTable.UnrollBudget}";
        foreach (BranchPlan branch in plan.Branches)
        {
            Assert.Equal(KernelStrategy.Blocked, branch.Attention.Strategy);
            Assert.Equal(KernelStrategy.Blocked, branch.FeedForward.Strategy);
            Assert.Contains(budget, branch.Attention.Reason);
            Assert.Contains(budget, branch.FeedForward.Reason);
        }

        // No branch decides for another: the Vector512 branch names its own product, not the scalar branch's.
        Assert.StartsWith(
            "Vector512 blocked loops (Q·Kᵀ 4 × 8 slots × 32 deep + P·V 4 × 2 slots × 128 deep = 2048 multiply-add statements",
            plan.Branch(IsaBranch.Vector512).Attention.Reason,
            StringComparison.Ordinal);
        // 32 row tiles, no tail; one attention chunk per head (~2 MFLOP); the feed-forward network in the fewest, tallest
        // chunks that still let several threads share a sequence (each chunk streams all of W1 and W2): 4 of 32 rows.
        Assert.Equal((32, 0), (plan.FullRowTiles, plan.TailRows));
        Assert.Equal(1, plan.AttentionChunksPerHead);
        // MiniLM's FFN splits columns (see below): four chunks per sequence, each all rows × a share of the panels.
        Assert.True(plan.FeedForwardColumnSplit);
        Assert.Equal(4, plan.FeedForwardChunksPerSequence);
    }

    [Fact]
    public void Feed_forward_splits_columns_for_weights_beyond_L2_while_the_hidden_rows_stay_within_16_MiB()
    {
        // MiniLM's 4.5 MiB of W1 + W2: each row chunk would stream all of it, so sequences split columns.
        Assert.True(Plan(16, 384, 1536, heads: 12).FeedForwardColumnSplit);
        Assert.True(Plan(128, 384, 1536, heads: 12).FeedForwardColumnSplit);
        Assert.True(Plan(256, 384, 1536, heads: 12).FeedForwardColumnSplit);
        // BERT-base at 512 tokens: 18.9 MB of weights, 6 MiB of hidden rows per sequence.
        Assert.True(Plan(512, 768, 3072, heads: 12).FeedForwardColumnSplit);
        // The largest FfnDim at 128 tokens is exactly 16 MiB; one more token per tile is beyond it.
        Assert.True(Plan(128, 64, 32768).FeedForwardColumnSplit);
        Assert.False(Plan(132, 64, 32768).FeedForwardColumnSplit);
        Assert.False(Plan(1030, 32, 4096).FeedForwardColumnSplit);
        // 128 KiB of weights stay in L2: rows are split, one hand-off to the pool instead of two phases.
        Assert.False(Plan(32, 64, 256).FeedForwardColumnSplit);
        Assert.True(Plan(21, 256, 512, heads: 2).FeedForwardColumnSplit);
        Assert.False(Plan(21, 256, 511, heads: 1).FeedForwardColumnSplit);
    }

    [Fact]
    public void Plain_arrays_copy_each_panel_in_the_first_row_tile_when_every_chunk_has_one()
    {
        // Column split: every chunk has all 32 row tiles; W1 and W2 of 2.25 MiB each, 24 and 6 panels on Vector512, and the
        // projection's W of 576 KiB.
        BranchPlan miniLm = Plan(128, 384, 1536, heads: 12).Branch(IsaBranch.Vector512);
        Assert.Equal((PanelCopy.InFirstTile, 384 * 64), (miniLm.Hidden.PanelCopy, miniLm.Hidden.PanelScratchFloats));
        Assert.Equal((PanelCopy.InFirstTile, 1536 * 64), (miniLm.FeedForwardOutput.PanelCopy, miniLm.FeedForwardOutput.PanelScratchFloats));
        Assert.Equal((PanelCopy.InFirstTile, 384 * 64), (miniLm.ProjectionOutput.PanelCopy, miniLm.ProjectionOutput.PanelScratchFloats));

        // Row split, 9 chunks of 28 or 29 tiles, the last with the tail: W1 (512 KiB) is copied; W2 (32 columns) has no full panel.
        KernelPlan rowSplit = Plan(1030, 32, 4096);
        Assert.Equal(9, rowSplit.FeedForwardChunksPerSequence);
        Assert.Equal(PanelCopy.InFirstTile, rowSplit.Branch(IsaBranch.Vector512).Hidden.PanelCopy);
        Assert.Equal(PanelCopy.None, rowSplit.Branch(IsaBranch.Vector512).FeedForwardOutput.PanelCopy);

        // Three rows: no full row tile to make the copy, so PackPanel makes it before the tail tile.
        BranchPlan threeRows = Plan(3, 256, 512).Branch(IsaBranch.Vector512);
        Assert.Equal(PanelCopy.BeforeTiles, threeRows.Hidden.PanelCopy);
        Assert.Equal(PanelCopy.BeforeTiles, threeRows.FeedForwardOutput.PanelCopy);

        // Under 512 KiB B stays where it is.
        Assert.Equal(0, Plan(32, 64, 256).Branch(IsaBranch.Vector512).Hidden.PanelScratchFloats);
    }

    [Theory]
    [InlineData(4, 3, 3, 1)]
    [InlineData(7, 13, 13, 2)]
    [InlineData(21, 256, 64, 6)]
    [InlineData(33, 96, 32, 9)]
    [InlineData(128, 384, 96, 32)]
    public void Row_passes_split_columns_into_whole_vectors_and_rows_into_four_parts(int sequenceLength, int embeddingDim, int columnBlock, int rowsPerChunk)
    {
        RowPassPlan rows = Plan(sequenceLength, embeddingDim, 8).RowPasses;
        Assert.Equal(columnBlock, rows.ColumnBlock);
        Assert.Equal(rowsPerChunk, rows.CrossEntropyRowsPerChunk);
        // At most four column owners, and every block but the last a whole number of 16-float vectors.
        Assert.True((embeddingDim + columnBlock - 1) / columnBlock <= 4);
        Assert.True(columnBlock == embeddingDim || columnBlock % 16 == 0);
        Assert.Contains("sequence order", rows.LayerNormBackwardScheduling);
    }

    [Fact]
    public void Attention_packs_each_head_once_and_walks_long_heads_in_blocks_of_score_rows()
    {
        // Twelve heads are enough chunks for 2–4 threads: one chunk per head, whose 512 score rows of 512 floats
        // (1 MiB) are computed 64 rows (128 KiB) at a time.
        KernelPlan bertBase = Plan(512, 768, 3072, heads: 12);
        Assert.Equal(1, bertBase.AttentionChunksPerHead);
        Assert.True(bertBase.AttentionBlocked);
        Assert.Equal(64, bertBase.AttentionBlockRows);
        Assert.Equal((64 + 64) * 512, bertBase.AttentionScratchFloats);

        // P·V of head dim 64 on Vector512: two panels of two vectors, row tiles in pairs (8×2).
        BranchPlan wide = bertBase.Branch(IsaBranch.Vector512);
        Assert.Equal((2, 2), (wide.AttentionOutput.Layout.PanelSlots, wide.AttentionOutput.Layout.FullPanels));
        Assert.True(wide.AttentionOutput.PairRowTiles);
        Assert.False(bertBase.Branch(IsaBranch.Vector256).AttentionOutput.PairRowTiles);
        // A call that never sees two full row tiles has no pair loop: the worked example's 4 rows are one tile.
        Assert.All(Plan(4, 3, 12).Branches, b => Assert.False(b.AttentionOutput.PairRowTiles));

        // MiniLM at 128 tokens: the whole head fits one block.
        KernelPlan miniLm = Plan(128, 384, 1536, heads: 12);
        Assert.False(miniLm.AttentionBlocked);
        Assert.Equal(128, miniLm.AttentionBlockRows);

        // One head of 32 tokens is split into two 16-row chunks so that two threads share a call.
        KernelPlan oneHead = Plan(32, 64, 256);
        Assert.Equal((2, 16), (oneHead.AttentionChunksPerHead, oneHead.AttentionMaxRowsPerChunk));

        // With a row tail the last block takes it: 301 rows = 75 tiles + 1 row; blocks of 26 tiles (104 rows) + the tail.
        KernelPlan causal = Plan(301, 32, 64, heads: 4, causal: true);
        Assert.True(causal.AttentionBlocked);
        Assert.Equal(26 * 4 + 1, causal.AttentionBlockRows);
    }

    [Fact]
    public void Causal_scores_narrow_their_diagonal_tiles_only_in_blocked_loops_over_panels_of_several_slots()
    {
        // PeerGpt's attention (128 × 32 heads): Q·Kᵀ panels of 4 Vector512, 2 Vector256, 2 Vector128 and 4 scalar slots.
        KernelPlan causal = Plan(128, 256, 1024, heads: 8, causal: true);
        Assert.All(causal.Branches, b => Assert.Equal(KernelStrategy.Blocked, b.Attention.Strategy));
        Assert.All(causal.Branches, b => Assert.True(b.Scores.DiagonalSlots));
        Assert.All(causal.Branches, b => Assert.False(b.AttentionOutput.DiagonalSlots));

        Assert.All(Plan(128, 256, 1024, heads: 8).Branches, b => Assert.False(b.Scores.DiagonalSlots));


        // Over the theory shapes made causal: narrowed exactly where the loops are blocked and a panel has slots to drop.
        var seen = new HashSet<bool>();
        foreach (var row in Shapes)
        {
            var (sequence, embedding, ffn, heads) = row.Data;
            foreach (BranchPlan b in Plan(sequence, embedding, ffn, heads, causal: true).Branches)
            {
                bool expected = b.Attention.Strategy == KernelStrategy.Blocked && b.Scores.Layout.FullPanels > 0 && b.Scores.Layout.PanelSlots > 1;
                Assert.Equal(expected, b.Scores.DiagonalSlots);
                seen.Add(expected);
            }
        }

        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public void Odd_shape_is_blocked_with_a_one_row_tail()
    {
        KernelPlan plan = Plan(13, 20, 36, heads: 4, causal: true);

        Assert.All(plan.Branches, b => Assert.Equal(KernelStrategy.Blocked, b.Attention.Strategy));
        Assert.All(plan.Branches, b => Assert.Equal(KernelStrategy.Blocked, b.FeedForward.Strategy));
        Assert.Equal((3, 1, 4), (plan.FullRowTiles, plan.TailRows, plan.RowTiles));
        Assert.Equal(16, plan.ScoreStride);
    }

    // The reason is shown to users in the generated header: its numbers must agree with the decision it explains.
    [Theory]
    [MemberData(nameof(Shapes))]
    public void Stated_reason_agrees_with_the_strategy(int s, int e, int f, int h)
    {
        KernelPlan plan = Plan(s, e, f, h);

        foreach (BranchPlan branch in plan.Branches)
        {
            AssertReasonAgrees(branch.Attention);
            AssertReasonAgrees(branch.FeedForward);
            AssertReasonAgrees(branch.Projection);
        }
    }

    private static void AssertReasonAgrees(Choice choice)
    {
        (KernelStrategy strategy, string reason) = (choice.Strategy, choice.Reason);
        Match match = Regex.Match(reason, @"= (\d+) multiply-add statements");
        Assert.True(match.Success, $"No statement count in \"{reason}\".");
        long statements = long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(statements <= TileTable.UnrollBudget ? KernelStrategy.FullUnroll : KernelStrategy.Blocked, strategy);
        Assert.Contains(strategy == KernelStrategy.FullUnroll ? " full unroll (" : " blocked loops (", reason, StringComparison.Ordinal);
    }

    /// <summary>
    /// The multiply-add rounds by the slots' width, never by the branch: a head of 4 columns on the Vector512 branch has
    /// Vector128 slots and must give the Vector128 branch's bits, and scalar slots never call a software FMA.
    /// </summary>
    [Theory]
    [InlineData(128, 384, 12)]
    [InlineData(37, 100, 4)]
    [InlineData(4, 3, 1)]
    [InlineData(64, 16, 4)]
    public void Every_product_multiply_adds_by_the_width_of_its_slots(int s, int e, int heads)
    {
        foreach (BranchPlan branch in Plan(s, e, 4 * e, heads, causal: true).Branches)
        {
            foreach (ProductPlan product in new[] { branch.Scores, branch.AttentionOutput, branch.Hidden, branch.FeedForwardOutput, branch.ProjectionOutput })
            {
                MultiplyAddForm expected = product.Layout.Lanes switch
                {
                    1 => MultiplyAddForm.MultiplyThenAdd,
                    4 => MultiplyAddForm.FusedWhereAvailable,
                    _ => MultiplyAddForm.Fused,
                };
                Assert.Equal(expected, product.MultiplyAdd);
            }
        }
    }

    [Theory]
    [InlineData("Vector512", 16, 16)]
    [InlineData("Vector512", 100, 16)]
    [InlineData("Vector512", 12, 8)]
    [InlineData("Vector512", 8, 8)]
    [InlineData("Vector512", 5, 4)]
    [InlineData("Vector512", 4, 4)]
    [InlineData("Vector512", 3, 1)]
    [InlineData("Vector256", 100, 8)]
    [InlineData("Vector256", 7, 4)]
    [InlineData("Scalar", 100, 1)]
    public void Narrow_products_use_the_widest_vector_that_fits(string isa, int columns, int lanes)
    {
        Assert.Equal(lanes, KernelPlanner.Layout(Enum.Parse<IsaBranch>(isa), columns).Lanes);
    }

    [Theory]
    [InlineData("Vector512", 29, 16, 0, new[] { 0, 13 })]
    [InlineData("Vector512", 100, 16, 1, new[] { 64, 80, 84 })]
    [InlineData("Vector512", 12, 8, 0, new[] { 0, 4 })]
    [InlineData("Vector512", 128, 16, 2, new int[] { })]
    [InlineData("Vector256", 20, 8, 1, new[] { 12 })]
    [InlineData("Scalar", 5, 1, 1, new[] { 4 })]
    public void Column_layout_ends_with_an_overlapping_slot_at_columns_minus_lanes(string isaName, int columns, int lanes, int fullPanels, int[] remainder)
    {
        IsaBranch isa = Enum.Parse<IsaBranch>(isaName);
        ColumnLayout layout = KernelPlanner.Layout(isa, columns);

        Assert.Equal(columns, layout.Columns);
        Assert.Equal(lanes, layout.Lanes);
        // RN is the table's; a product narrower than one panel has only its remainder slots as its tile.
        Assert.Equal(fullPanels > 0 ? KernelPlanner.PanelSlots(isa, lanes) : remainder.Length, layout.PanelSlots);
        Assert.Equal(fullPanels, layout.FullPanels);
        Assert.Equal(remainder, layout.RemainderOffsets);
    }

    // Every column is computed, no slot reads or writes past the row, and only the final slot overlaps (by design:
    // it recomputes the same columns with the same arithmetic, so no runtime tail branch is needed).
    [Fact]
    public void Column_layouts_cover_every_column_exactly_within_bounds()
    {
        foreach (IsaBranch isa in new[] { IsaBranch.Vector512, IsaBranch.Vector256, IsaBranch.Vector128, IsaBranch.Scalar })
        {
            for (int columns = 1; columns <= 200; columns++)
            {
                ColumnLayout layout = KernelPlanner.Layout(isa, columns);
                int[] offsets = Enumerable.Range(0, layout.FullPanels * layout.PanelSlots).Select(slot => slot * layout.Lanes)
                    .Concat(layout.RemainderOffsets).ToArray();
                string where = $"{isa}, {columns} columns, slots at [{string.Join(", ", offsets)}] of {layout.Lanes} lanes";

                // Starts at column 0 and ends exactly at the last column.
                Assert.True(offsets[0] == 0 && offsets[^1] + layout.Lanes == columns, "Does not span the row: " + where);
                Assert.True(offsets.All(o => o >= 0 && o + layout.Lanes <= columns), "Out of bounds: " + where);
                for (int i = 1; i < offsets.Length; i++)
                {
                    bool adjacent = offsets[i] == offsets[i - 1] + layout.Lanes;
                    bool finalOverlap = i == offsets.Length - 1 && offsets[i] > offsets[i - 1] && offsets[i] < offsets[i - 1] + layout.Lanes;
                    Assert.True(adjacent || finalOverlap, "Gap or early overlap: " + where);
                }

                Assert.Equal((columns + layout.Lanes - 1) / layout.Lanes, layout.SlotCount);
                Assert.True(layout.RemainderOffsets.Count <= layout.PanelSlots, "Remainder wider than a panel: " + where);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(13)]
    [InlineData(128)]
    [InlineData(197)]
    [InlineData(8191)]
    public void Row_tail_is_the_sequence_length_modulo_the_row_tile(int sequenceLength)
    {
        KernelPlan plan = Plan(sequenceLength, 8, 8);

        Assert.Equal(4, plan.RowTile);
        Assert.Equal(sequenceLength % 4, plan.TailRows);
        Assert.Equal(sequenceLength / 4, plan.FullRowTiles);
        Assert.Equal((sequenceLength + 3) / 4, plan.RowTiles);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Chunking_is_positive_and_covers_the_sequence(int s, int e, int f, int h)
    {
        KernelPlan plan = Plan(s, e, f, h);

        Assert.InRange(plan.AttentionChunksPerHead, 1, plan.RowTiles);
        Assert.InRange(plan.FeedForwardChunksPerSequence, 1, plan.RowTiles);
        Assert.InRange(plan.FeedForwardMaxRowsPerChunk, 1, s);
        // The largest chunk times the chunk count reaches every row (column-split chunks take every row);
        // the largest chunk is whole row tiles or the sequence.
        Assert.True(plan.FeedForwardColumnSplit || (long)plan.FeedForwardChunksPerSequence * plan.FeedForwardMaxRowsPerChunk >= s);
        Assert.True(plan.FeedForwardMaxRowsPerChunk % plan.RowTile == 0 || plan.FeedForwardMaxRowsPerChunk == s);
        Assert.True(plan.AttentionScratchFloats > 0 && plan.FeedForwardScratchFloats > 0);
    }

    // Each branch writes ScoreColumns floats per score row into rows ScoreStride apart: they must fit.
    [Theory]
    [MemberData(nameof(Shapes))]
    public void Score_rows_fit_the_score_stride_on_every_branch(int s, int e, int f, int h)
    {
        KernelPlan plan = Plan(s, e, f, h);

        Assert.Equal(0, plan.ScoreStride % 16);
        Assert.InRange(plan.ScoreStride, s, s + 15);
        Assert.Equal(new[] { IsaBranch.Vector512, IsaBranch.Vector256, IsaBranch.Vector128, IsaBranch.Scalar }, plan.Branches.Select(b => b.Isa));
        foreach (BranchPlan branch in plan.Branches)
        {
            Assert.InRange(branch.ScoreColumns, s, plan.ScoreStride);
            Assert.Equal(branch.ScoreColumns, branch.Scores.Layout.Columns);
            Assert.Equal(0, branch.ScoreColumns % branch.Scores.Layout.Lanes);
            Assert.Equal(e / h, branch.AttentionOutput.Layout.Columns);
            Assert.Equal(f, branch.Hidden.Layout.Columns);
            Assert.Equal(e, branch.FeedForwardOutput.Layout.Columns);
            Assert.Equal(e, branch.ProjectionOutput.Layout.Columns);
        }
    }

    [Fact]
    public void Plan_is_a_pure_function_of_the_shape()
    {
        Assert.Equal(Plan(13, 20, 36, 4), Plan(13, 20, 36, 4));
        Assert.NotEqual(Plan(13, 20, 36, 4), Plan(13, 20, 36, 2));
    }

    // ---- Column ownership: every element written by exactly one chunk ----

    /// <summary>
    /// The shapes the ownership test plans: the shape fuzz's random shapes (same generator, seed and count), the edge shapes
    /// that once raced (EmbeddingDim 72 on Vector512: one full panel and an overlapping remainder slot), and every
    /// EmbeddingDim and FfnDim from 1 to 1,536 with the other dimension large enough to split columns.
    /// </summary>
    private static IEnumerable<TransformerShape> OwnershipShapes()
    {
        int count = FuzzSettings.Read(FuzzSettings.ShapesVariable, ShapeFuzzTests.DefaultShapeCount);
        foreach (ShapeFuzzTests.FuzzShape fuzz in ShapeFuzzTests.RandomShapes(FuzzSettings.Seed, count))
        {
            yield return fuzz.Shape;
        }

        yield return new TransformerShape(16, 72, 144, 1, false, Activation.Relu);
        yield return new TransformerShape(128, 72, 1824, 8, true, Activation.Gelu);
        for (int dim = 1; dim <= 1536; dim++)
        {
            yield return new TransformerShape(13, dim, 1536, 1, false, Activation.Gelu);
            yield return new TransformerShape(13, 1536, dim, 1, false, Activation.Relu);
        }
    }

    private static KernelPlan Plan(TransformerShape shape) =>
        KernelPlanner.Plan(new ShapeSpec(
            new TypeHierarchy("Demo", EquatableArray<string>.Empty, "Shape"),
            shape.SequenceLength, shape.EmbeddingDim, shape.FfnDim, shape.Heads, shape.Causal, (ActivationKind)shape.Activation));

    /// <summary>
    /// The packed length comes from the runtime's PackedLayout (what PackedFeedForwardWeights accepts), the panels and slots
    /// PanelPacking fills from the plan's column layout: a drift between the two would make Pack allocate an array that
    /// FromPacked rejects, or leave floats the kernel reads unwritten.
    /// </summary>
    [Fact]
    public void Packed_lengths_equal_the_panels_and_slots_of_the_column_layout()
    {
        var failures = new List<string>();
        foreach (TransformerShape shape in OwnershipShapes())
        {
            foreach (BranchPlan branch in Plan(shape).Branches)
            {
                foreach ((string name, ProductPlan product) in new[] { ("W1", branch.Hidden), ("W2", branch.FeedForwardOutput), ("projection W", branch.ProjectionOutput) })
                {
                    ColumnLayout layout = product.Layout;
                    long written = (long)product.Depth * (layout.FullPanels * layout.PanelWidth + layout.RemainderOffsets.Count * layout.Lanes);
                    if (written != product.PackedFloats)
                    {
                        failures.Add($"{shape} on {branch.Isa}, {name}: layout fills {written} floats, PackedLayout says {product.PackedFloats}");
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} packed lengths disagree:\n" + string.Join("\n", failures.Take(20)));
    }

    [Fact]
    public void No_two_chunks_write_the_same_output_element_on_any_branch()
    {
        var failures = new List<string>();
        int shapes = 0;
        foreach (TransformerShape shape in OwnershipShapes())
        {
            shapes++;
            KernelPlan plan = Plan(shape);
            foreach (BranchPlan branch in plan.Branches)
            {
                string where = $"{shape} on {branch.Isa}";
                CheckAttention(plan, branch, where, failures);
                CheckProduct(plan, branch.Hidden, plan.FeedForwardChunksPerSequence, $"{where}, FFN x·W1{(plan.FeedForwardColumnSplit ? " (phase 1)" : "")}", failures);
                CheckProduct(plan, branch.FeedForwardOutput, plan.FeedForwardChunksPerSequence, $"{where}, FFN h·W2{(plan.FeedForwardColumnSplit ? " (phase 2)" : "")}", failures);
                CheckProduct(plan, branch.ProjectionOutput, plan.ProjectionChunksPerSequence, $"{where}, projection", failures);
            }
        }

        Assert.True(shapes > 3000, $"Only {shapes} shapes planned.");
        Assert.True(failures.Count == 0, $"{failures.Count} products with a doubly written or unwritten element:\n" + string.Join("\n", failures.Take(20)));
    }

    [Fact]
    public void EmbeddingDim_72_on_Vector512_gives_the_overlapping_remainder_to_the_chunk_of_the_last_full_panel()
    {
        ProductPlan projection = Plan(new TransformerShape(16, 72, 144, 1, false, Activation.Relu)).Branch(IsaBranch.Vector512).ProjectionOutput;

        // One full panel (columns 0–63) and the overlapping slot at 56 (columns 56–71): both belong to chunk 0.
        Assert.Equal((1, 16, 4), (projection.Layout.FullPanels, projection.Layout.Lanes, projection.Layout.PanelSlots));
        Assert.Equal(new[] { 56 }, projection.Layout.RemainderOffsets);
        Assert.Equal(new ColumnShare(4, 1, 0), projection.Share);

        // The rule the projection had before (the last chunk owns the remainder) is caught by the ownership check.
        var failures = new List<string>();
        CheckColumns(projection with { Share = projection.Share! with { RemainderOwner = 3 } }, "old rule", failures);
        Assert.Single(failures);
    }

    /// <summary>Attention: chunk (head, part) writes the rows of its share of the row tiles × the head's columns.</summary>
    private static void CheckAttention(KernelPlan plan, BranchPlan branch, string where, List<string> failures)
    {
        ShapeSpec shape = plan.Shape;
        var writers = new int[shape.SequenceLength * shape.EmbeddingDim];
        // Within one chunk the overlapping slot rewrites its own columns (same bits, same thread): count each column once.
        int[] headColumns = Columns(branch.AttentionOutput.Layout, panels: (0, branch.AttentionOutput.Layout.FullPanels), remainder: true).Distinct().ToArray();
        for (int head = 0; head < shape.Heads; head++)
        {
            for (int part = 0; part < plan.AttentionChunksPerHead; part++)
            {
                foreach (int row in Rows(plan, plan.AttentionChunksPerHead, part))
                {
                    foreach (int column in headColumns)
                    {
                        writers[row * shape.EmbeddingDim + head * shape.HeadDim + column]++;
                    }
                }
            }
        }

        if (writers.Any(count => count != 1))
        {
            failures.Add($"{where}, attention: elements written {string.Join("/", writers.Distinct().OrderBy(c => c))} times");
        }
    }

    /// <summary>A product's chunks: by rows (a row partition of whole tiles) or, with a column share, by columns.</summary>
    private static void CheckProduct(KernelPlan plan, ProductPlan product, int chunks, string where, List<string> failures)
    {
        if (product.Share is not null)
        {
            Assert.Equal(chunks, product.Share.Chunks);
            CheckColumns(product, where, failures);
            return;
        }

        // Row chunks each write every column of their rows.
        var writers = new int[plan.Shape.SequenceLength];
        for (int part = 0; part < chunks; part++)
        {
            foreach (int row in Rows(plan, chunks, part))
            {
                writers[row]++;
            }
        }

        if (writers.Any(count => count != 1))
        {
            failures.Add($"{where}: rows written {string.Join("/", writers.Distinct().OrderBy(c => c))} times");
        }
    }

    /// <summary>Column chunks write every row: each column must have exactly one writing chunk.</summary>
    private static void CheckColumns(ProductPlan product, string where, List<string> failures)
    {
        ColumnShare share = product.Share!;
        var owners = new int[product.Layout.Columns];
        for (int part = 0; part < share.Chunks; part++)
        {
            var panels = (RowPartition.Start(share.FullPanels, share.Chunks, part), RowPartition.Count(share.FullPanels, share.Chunks, part));
            foreach (int column in Columns(product.Layout, panels, remainder: part == share.RemainderOwner).Distinct())
            {
                owners[column]++;
            }
        }

        if (owners.Any(count => count != 1))
        {
            int column = Array.FindIndex(owners, count => count != 1);
            failures.Add($"{where}: column {column} of {product.Layout.Columns} has {owners[column]} writing chunks (share {share})");
        }
    }

    /// <summary>The columns the emitted tile writes for full panels [first, first + count) and, if asked, the remainder block.</summary>
    private static int[] Columns(ColumnLayout layout, (int First, int Count) panels, bool remainder)
    {
        var slots = Enumerable.Range(panels.First * layout.PanelSlots, panels.Count * layout.PanelSlots).Select(slot => slot * layout.Lanes);
        if (remainder)
        {
            slots = slots.Concat(layout.RemainderOffsets);
        }

        return slots.SelectMany(slot => Enumerable.Range(slot, layout.Lanes)).ToArray();
    }

    /// <summary>The rows of row chunk <paramref name="part"/> of <paramref name="chunks"/>, clipped to the sequence.</summary>
    private static IEnumerable<int> Rows(KernelPlan plan, int chunks, int part)
    {
        int first = RowPartition.Start(plan.RowTiles, chunks, part) * plan.RowTile;
        int end = Math.Min(plan.Shape.SequenceLength, (first / plan.RowTile + RowPartition.Count(plan.RowTiles, chunks, part)) * plan.RowTile);
        return Enumerable.Range(first, end - first);
    }
}
