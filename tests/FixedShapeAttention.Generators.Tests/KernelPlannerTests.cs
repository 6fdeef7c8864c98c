using System;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
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
    public void Worked_example_is_fully_unrolled()
    {
        KernelPlan plan = Plan(4, 3, 12);

        Assert.Equal(KernelStrategy.FullUnroll, plan.AttentionStrategy);
        Assert.StartsWith("full unroll:", plan.AttentionReason, StringComparison.Ordinal);
        // Its largest product (x·W1 or h·W2 on the scalar branch, 36 statements) is also within the budget.
        Assert.Equal(KernelStrategy.FullUnroll, plan.FeedForwardStrategy);
        Assert.Equal((1, 0, 1), (plan.FullRowTiles, plan.TailRows, plan.RowTiles));
    }

    [Fact]
    public void MiniLm_is_blocked_because_it_is_over_the_unroll_budget()
    {
        KernelPlan plan = Plan(128, 384, 1536, heads: 12);

        Assert.Equal(KernelStrategy.Blocked, plan.AttentionStrategy);
        Assert.Equal(KernelStrategy.Blocked, plan.FeedForwardStrategy);
        string budget = $"above the unroll budget of {TileTable.UnrollBudget}";
        Assert.Contains(budget, plan.AttentionReason);
        Assert.Contains(budget, plan.FeedForwardReason);
        // 32 row tiles, no tail; one attention chunk per head (~2 MFLOP); the feed-forward network in the fewest, tallest
        // chunks that still let several threads share a sequence (each chunk streams all of W1 and W2): 4 of 32 rows.
        Assert.Equal((32, 0), (plan.FullRowTiles, plan.TailRows));
        Assert.Equal(1, plan.AttentionChunksPerHead);
        Assert.Equal((4, 32), (plan.FeedForwardChunksPerSequence, plan.FeedForwardMaxRowsPerChunk));
    }

    [Fact]
    public void Feed_forward_splits_columns_only_for_short_sequences_with_weights_beyond_L2()
    {
        // MiniLM's 4.5 MiB of W1 + W2: each row chunk would stream all of it, so short sequences split columns.
        Assert.True(Plan(16, 384, 1536, heads: 12).FeedForwardColumnSplit);
        Assert.True(Plan(128, 384, 1536, heads: 12).FeedForwardColumnSplit);
        Assert.False(Plan(256, 384, 1536, heads: 12).FeedForwardColumnSplit);
        // 128 KiB of weights stay in L2: rows are split, one hand-off to the pool instead of two phases.
        Assert.False(Plan(32, 64, 256).FeedForwardColumnSplit);
        Assert.True(Plan(21, 256, 512, heads: 2).FeedForwardColumnSplit);
        Assert.False(Plan(21, 256, 511, heads: 1).FeedForwardColumnSplit);
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
        BranchPlan wide = bertBase.Branches.Single(b => b.Isa == IsaBranch.Vector512);
        Assert.Equal((2, 2), (wide.AttentionOutput.PanelSlots, wide.AttentionOutput.FullPanels));
        Assert.True(TileTable.PairsRowTiles(16, wide.AttentionOutput.SlotCount, wide.AttentionOutput.Lanes, wide.AttentionOutput.PanelSlots));
        BranchPlan avx2 = bertBase.Branches.Single(b => b.Isa == IsaBranch.Vector256);
        Assert.False(TileTable.PairsRowTiles(8, avx2.AttentionOutput.SlotCount, avx2.AttentionOutput.Lanes, avx2.AttentionOutput.PanelSlots));

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
    public void Odd_shape_is_blocked_with_a_one_row_tail()
    {
        KernelPlan plan = Plan(13, 20, 36, heads: 4, causal: true);

        Assert.Equal(KernelStrategy.Blocked, plan.AttentionStrategy);
        Assert.Equal(KernelStrategy.Blocked, plan.FeedForwardStrategy);
        Assert.Equal((3, 1, 4), (plan.FullRowTiles, plan.TailRows, plan.RowTiles));
        Assert.Equal(16, plan.ScoreStride);
    }

    // The reason is shown to users in the generated header: its numbers must agree with the decision it explains.
    [Theory]
    [MemberData(nameof(Shapes))]
    public void Stated_reason_agrees_with_the_strategy(int s, int e, int f, int h)
    {
        KernelPlan plan = Plan(s, e, f, h);

        AssertReasonAgrees(plan.AttentionStrategy, plan.AttentionReason);
        AssertReasonAgrees(plan.FeedForwardStrategy, plan.FeedForwardReason);
    }

    private static void AssertReasonAgrees(KernelStrategy strategy, string reason)
    {
        Match match = Regex.Match(reason, @"= (\d+) multiply-add statements");
        Assert.True(match.Success, $"No statement count in \"{reason}\".");
        long statements = long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(statements <= TileTable.UnrollBudget ? KernelStrategy.FullUnroll : KernelStrategy.Blocked, strategy);
        Assert.StartsWith(strategy == KernelStrategy.FullUnroll ? "full unroll:" : "blocked loops:", reason, StringComparison.Ordinal);
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
        Assert.Equal(lanes, KernelPlanner.LanesFor(Enum.Parse<IsaBranch>(isa), columns));
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
        Assert.Equal(TileTable.PanelSlots((int)isa), layout.PanelSlots);
        Assert.Equal(fullPanels, layout.FullPanels);
        Assert.Equal(remainder, layout.RemainderOffsets);
    }

    // Every column is computed, no slot reads or writes past the row, and only the final slot overlaps (by design:
    // it recomputes the same columns with the same arithmetic, so no runtime tail branch is needed).
    [Fact]
    public void Column_layouts_cover_every_column_exactly_within_bounds()
    {
        foreach (IsaBranch isa in new[] { IsaBranch.Vector512, IsaBranch.Vector256, IsaBranch.Scalar })
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
        // The largest chunk times the chunk count reaches every row; the largest chunk is whole row tiles or the sequence.
        Assert.True((long)plan.FeedForwardChunksPerSequence * plan.FeedForwardMaxRowsPerChunk >= s);
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
        Assert.Equal(new[] { IsaBranch.Vector512, IsaBranch.Vector256, IsaBranch.Scalar }, plan.Branches.Select(b => b.Isa));
        foreach (BranchPlan branch in plan.Branches)
        {
            Assert.InRange(branch.ScoreColumns, s, plan.ScoreStride);
            Assert.Equal(branch.ScoreColumns, branch.Scores.Columns);
            Assert.Equal(0, branch.ScoreColumns % branch.Scores.Lanes);
            Assert.Equal(e / h, branch.AttentionOutput.Columns);
            Assert.Equal(f, branch.Hidden.Columns);
            Assert.Equal(e, branch.FeedForwardOutput.Columns);
        }
    }

    [Fact]
    public void Plan_is_a_pure_function_of_the_shape()
    {
        Assert.Equal(Plan(13, 20, 36, 4), Plan(13, 20, 36, 4));
        Assert.NotEqual(Plan(13, 20, 36, 4), Plan(13, 20, 36, 2));
    }
}
