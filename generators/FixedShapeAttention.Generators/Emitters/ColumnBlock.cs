namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// One block of column slots of a product: the output columns (<see cref="Slots"/>, for C and per-column operands)
/// and where B's values for them are: <c>B[BBase + k·BStride + BSlotOffsets[s]]</c> for step k and slot s.
/// </summary>
internal sealed class ColumnBlock
{
    public ColumnBlock(Index[] slots, Index bBase, int bStride, int[] bSlotOffsets)
    {
        Slots = slots;
        BBase = bBase;
        BStride = bStride;
        BSlotOffsets = bSlotOffsets;
    }

    public Index[] Slots { get; }

    public Index BBase { get; }

    public int BStride { get; }

    public int[] BSlotOffsets { get; }
}
