using System;
using System.ComponentModel;

namespace FixedShapeAttention.CompilerServices;

/// <summary>
/// Packs a B matrix for a generated kernel's prepacked overload, in the layout its plan chose. For generated code; no
/// </summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class PanelPacking
{
    /// <summary>
    /// Copies row-major <paramref name="source"/> [<paramref name="depth"/>, <paramref name="columns"/>] into
    /// <paramref name="packed"/> block by block: the <paramref name="fullPanels"/> panels of <paramref name="panelWidth"/>
    /// columns, then the <paramref name="remainder"/> slots of <paramref name="lanes"/> columns (the overlapping one
    /// included); each block k-major with its slots side by side, which is the order and the offsets the kernel loads.
    /// Spans are sliced, so a wrong size throws instead of reading or writing out of bounds.
    /// </summary>
    public static void Pack(
        ReadOnlySpan<float> source, Span<float> packed, int columns, int depth, int panelWidth, int fullPanels, int lanes, ReadOnlySpan<int> remainder)
    {
        int offset = 0;
        for (int col = 0; col < fullPanels * panelWidth; col += panelWidth)
        {
            for (int k = 0; k < depth; k++, offset += panelWidth)
            {
                source.Slice(k * columns + col, panelWidth).CopyTo(packed.Slice(offset));
            }
        }

        for (int k = 0; k < depth && remainder.Length > 0; k++)
        {
            foreach (int slot in remainder)
            {
                source.Slice(k * columns + slot, lanes).CopyTo(packed.Slice(offset));
                offset += lanes;
            }
        }
    }
}
