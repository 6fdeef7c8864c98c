using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FixedShapeAttention.Generators.Model;
using FixedShapeAttention.Kernels;
using FixedShapeAttention.Scheduling;

namespace FixedShapeAttention.Generators.Planning;

/// <summary>Turns a validated <see cref="ShapeSpec"/> into a <see cref="KernelPlan"/>. Pure: no Roslyn, no state.</summary>
internal static class KernelPlanner
{
    private static readonly IsaBranch[] s_branches = { IsaBranch.Vector512, IsaBranch.Vector256, IsaBranch.Scalar };

    public static KernelPlan Plan(ShapeSpec shape)
    {
        int s = shape.SequenceLength, e = shape.EmbeddingDim, f = shape.FfnDim, d = shape.HeadDim;
        var branches = s_branches.Select(isa => PlanBranch(isa, shape)).ToArray();

        var (attentionStrategy, attentionReason) = ChooseStrategy(
            branches.Select(b => ("Q·Kᵀ", d, b.Scores, b.Isa)).Concat(branches.Select(b => ("P·V", s, b.AttentionOutput, b.Isa))));
        var (feedForwardStrategy, feedForwardReason) = ChooseStrategy(
            branches.Select(b => ("x·W1", e, b.Hidden, b.Isa)).Concat(branches.Select(b => ("h·W2", f, b.FeedForwardOutput, b.Isa))));

        var (projectionStrategy, projectionReason) = ChooseStrategy(branches.Select(b => ("x·W", e, b.FeedForwardOutput, b.Isa)));

        int tiles = ChunkSizing.RowTiles(s);
        int feedForwardChunks = ChunkSizing.FeedForwardChunksPerSequence(s, e, f);
        int maxRowsPerChunk = Math.Min(s, ChunkSizing.MaxTilesPerChunk(tiles, feedForwardChunks) * ChunkSizing.RowTile);
        int attentionChunks = ChunkSizing.AttentionChunksPerHead(s, shape.Heads);
        int attentionRowsPerChunk = Math.Min(s, ChunkSizing.MaxTilesPerChunk(tiles, attentionChunks) * ChunkSizing.RowTile);

        return new KernelPlan(
            shape,
            attentionStrategy,
            attentionReason,
            feedForwardStrategy,
            feedForwardReason,
            ChunkSizing.RowTile,
            FullRowTiles: s / ChunkSizing.RowTile,
            TailRows: s % ChunkSizing.RowTile,
            ScoreStride: RoundUp(s, (int)IsaBranch.Vector512),
            AttentionChunksPerHead: attentionChunks,
            AttentionMaxRowsPerChunk: attentionRowsPerChunk,
            FeedForwardChunksPerSequence: feedForwardChunks,
            FeedForwardMaxRowsPerChunk: maxRowsPerChunk,
            FeedForwardColumnSplit: feedForwardStrategy == KernelStrategy.Blocked && ChunkSizing.FeedForwardSplitsColumns(s, e, f),
            projectionStrategy,
            projectionReason,
            ProjectionChunksPerSequence: projectionStrategy == KernelStrategy.FullUnroll ? 1 : ChunkSizing.ProjectionColumnChunks,
            branches.ToEquatableArray());
    }

    /// <summary>The vector lanes a product of <paramref name="columns"/> columns uses on a branch: the branch's
    /// width, or the widest narrower vector that fits (8, then 4), or scalar below four columns.</summary>
    public static int LanesFor(IsaBranch isa, int columns)
    {
        for (int lanes = (int)isa; lanes >= 4; lanes /= 2)
        {
            if (columns >= lanes)
            {
                return lanes;
            }
        }

        return 1;
    }

    public static ColumnLayout Layout(IsaBranch isa, int columns, int? panelSlotsOverride = null)
    {
        int lanes = LanesFor(isa, columns);
        int panelSlots = panelSlotsOverride ?? TileTable.PanelSlots((int)isa);
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

        // At most PanelSlots − 1 whole slots are left over, plus the overlapping one: the remainder fits one panel.
        return new ColumnLayout(columns, lanes, panelSlots, fullPanels, remainder.ToEquatableArray());
    }

    private static BranchPlan PlanBranch(IsaBranch isa, ShapeSpec shape)
    {
        // Score rows are padded to whole vectors (the padding gets -inf, so weight 0) so softmax needs no tail.
        int scoreLanes = LanesFor(isa, shape.SequenceLength);
        int scoreColumns = RoundUp(shape.SequenceLength, scoreLanes);
        return new BranchPlan(
            isa,
            scoreColumns,
            Scores: Layout(isa, scoreColumns),
            AttentionOutput: Layout(isa, shape.HeadDim, TileTable.AttentionOutputPanelSlots((int)isa, LanesFor(isa, shape.HeadDim))),
            Hidden: Layout(isa, shape.FfnDim),
            FeedForwardOutput: Layout(isa, shape.EmbeddingDim));
    }

    private static (KernelStrategy Strategy, string Reason) ChooseStrategy(IEnumerable<(string Name, int Depth, ColumnLayout Layout, IsaBranch Isa)> products)
    {
        var largest = products.OrderByDescending(p => (long)p.Depth * p.Layout.SlotCount).First();
        long statements = (long)largest.Depth * largest.Layout.SlotCount;
        string detail = string.Format(
            CultureInfo.InvariantCulture,
            "the largest product, {0} on the {1} branch, is {2} deep × {3} column slot{4} = {5} multiply-add statements per row tile",
            largest.Name, Describe(largest.Isa), largest.Depth, largest.Layout.SlotCount, largest.Layout.SlotCount == 1 ? "" : "s", statements);
        return statements <= TileTable.UnrollBudget
            ? (KernelStrategy.FullUnroll, $"full unroll: {detail}, within the budget of {TileTable.UnrollBudget}, so k and column panels are straight-line code")
            : (KernelStrategy.Blocked, $"blocked loops: {detail}, above the unroll budget of {TileTable.UnrollBudget}, so k and column panels are loops around an unrolled register tile");
    }

    public static string Describe(IsaBranch isa) => isa switch
    {
        IsaBranch.Vector512 => "Vector512",
        IsaBranch.Vector256 => "Vector256",
        _ => "scalar",
    };

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
