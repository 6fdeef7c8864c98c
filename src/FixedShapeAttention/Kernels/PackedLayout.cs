// The size of prepacked weights, from the dimensions and the vector width alone. The packed kernels read B through
// Unsafe.Add at offsets baked in for their shape, so PackedFeedForwardWeights and PackedProjectionWeights check every
// array against these lengths when they are made. Written like TileTable (netstandard2.0-clean, plain integer logic)
// so that the generator can link it and size the arrays its Pack methods allocate from the same formula.

namespace FixedShapeAttention.Kernels;

/// <summary>
/// The panel layout of a prepacked B operand on one vector width: <c>columns / lanes</c> whole vectors grouped into
/// panels of <see cref="TileTable.PanelSlots"/> vectors, the left-over vectors one slot each, and, when the columns
/// are not a whole number of vectors, one more slot at <c>columns − lanes</c> (overlapping the previous one). Every
/// slot holds <c>lanes</c> floats per k step, for <c>depth</c> steps.
/// </summary>
internal static class PackedLayout
{
    /// <summary>The vector widths (floats) a process can pack for: Vector512, Vector256, Vector128, scalar.</summary>
    public static bool IsKnownWidth(int branchLanes) => branchLanes is 16 or 8 or 4 or 1;

    /// <summary>Floats of one packed B of <paramref name="depth"/> rows and <paramref name="columns"/> columns.</summary>
    public static long Floats(int branchLanes, int columns, int depth)
    {
        // The slot width is the product's lanes, by the rule every kernel uses to pick them.
        int lanes = TileTable.LanesFor(branchLanes, columns);
        int panelSlots = TileTable.PanelSlots(branchLanes);
        int fullVectors = columns / lanes;
        int fullPanels = fullVectors / panelSlots;
        int remainderSlots = fullVectors - fullPanels * panelSlots + (columns % lanes != 0 ? 1 : 0);
        return (long)depth * ((long)fullPanels * panelSlots * lanes + (long)remainderSlots * lanes);
    }

    /// <summary>Packed W1 of a feed-forward network: <c>[EmbeddingDim, FfnDim]</c>, columns FfnDim.</summary>
    public static long FeedForwardW1Floats(int branchLanes, int embeddingDim, int ffnDim) => Floats(branchLanes, ffnDim, embeddingDim);

    /// <summary>Packed W2 of a feed-forward network: <c>[FfnDim, EmbeddingDim]</c>, columns EmbeddingDim.</summary>
    public static long FeedForwardW2Floats(int branchLanes, int embeddingDim, int ffnDim) => Floats(branchLanes, embeddingDim, ffnDim);

    /// <summary>Packed W of a projection: <c>[EmbeddingDim, EmbeddingDim]</c>.</summary>
    public static long ProjectionFloats(int branchLanes, int embeddingDim) => Floats(branchLanes, embeddingDim, embeddingDim);
}
