namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// Where B's values for one block of column slots are: <c>B[Base + k·Stride + SlotOffsets[s]]</c> for step k and slot s.
/// </summary>
internal sealed class BAddress
{
    public BAddress(Index @base, int stride, int[] slotOffsets)
    {
        Base = @base;
        Stride = stride;
        SlotOffsets = slotOffsets;
    }

    public Index Base { get; }

    public int Stride { get; }

    public int[] SlotOffsets { get; }
}

/// <summary>
/// One block of column slots of a product: the output columns (<see cref="Slots"/>, for C and per-column operands)
/// and where B is, row-major and, when the product also runs on packed weights, packed.
/// </summary>
internal sealed class ColumnBlock
{
    public ColumnBlock(Index[] slots, BAddress rowMajor, BAddress? packed, string? reference = null)
    {
        Slots = slots;
        RowMajor = rowMajor;
        Packed = packed;
        Reference = reference;
    }

    /// <summary>The ref B is read through for this block, when not the product's own B (a panel copied on the fly).</summary>
    public string? Reference { get; }

    public Index[] Slots { get; }

    /// <summary>
    /// For a panel the plain-array instantiation copies on the fly: the same slots read where B lies, with
    /// <see cref="CopyTo"/> set, for the chunk's first row tile, which makes the copy as it computes.
    /// </summary>
    public ColumnBlock? Copy { get; init; }

    /// <summary>Whether the block is one of the product's full panels (not the remainder).</summary>
    public bool FullPanel { get; init; }

    /// <summary>The scratch ref into which a tile stores every B vector it loads (k-major, the slots side by side), or null.</summary>
    public string? CopyTo { get; init; }

    public BAddress RowMajor { get; }

    /// <summary>The packed layout's addresses, or null when B is only ever row-major.</summary>
    public BAddress? Packed { get; }

    /// <summary>An offset into B: one expression when both layouts agree, else the generated <c>Weights(packed, rowMajor)</c>,
    /// which the JIT folds to one constant per instantiation of the kernel.</summary>
    public string Offset(System.Func<BAddress, Index> select)
    {
        string rowMajor = select(RowMajor).ToString();
        if (Packed is null)
        {
            return rowMajor;
        }

        string packed = select(Packed).ToString();
        return packed == rowMajor ? rowMajor : $"Weights({packed}, {rowMajor})";
    }
}
