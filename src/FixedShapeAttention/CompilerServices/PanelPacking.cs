using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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

    /// <summary>
    /// Copies one panel of a row-major B into <paramref name="panel"/>, k-major: row k is <paramref name="source"/>
    /// [k·<paramref name="ldb"/>, k·<paramref name="ldb"/> + <paramref name="panelWidth"/>), for <paramref name="depth"/>
    /// rows, the order in which the packed layout stores a full panel. The plain-array overloads call it for each panel
    /// before the panel's row tiles (packing on the fly), so they read B as the prepacked overloads do.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A span is too short for the panel.</exception>
    public static void PackPanel(ReadOnlySpan<float> source, int ldb, int depth, int panelWidth, Span<float> panel)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(panelWidth);
        ArgumentOutOfRangeException.ThrowIfLessThan(ldb, panelWidth);
        ArgumentOutOfRangeException.ThrowIfNegative(depth);
        if (depth == 0)
        {
            return;
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(source.Length, (long)(depth - 1) * ldb + panelWidth, nameof(source));
        ArgumentOutOfRangeException.ThrowIfLessThan(panel.Length, (long)depth * panelWidth, nameof(panel));
        ref float from = ref MemoryMarshal.GetReference(source);
        ref float to = ref MemoryMarshal.GetReference(panel);
        // Checked once above for the whole panel, so the rows copy without a slice each, and by vectors in line rather
        // than by a memmove call per row (a panel row is only 16 to 256 bytes).
        for (int k = 0; k < depth; k++)
        {
            ref float row = ref Unsafe.Add(ref from, (nint)k * ldb);
            ref float target = ref Unsafe.Add(ref to, (nint)k * panelWidth);
            int j = 0;
            for (; j <= panelWidth - 16; j += 16)
            {
                Vector512.StoreUnsafe(Vector512.LoadUnsafe(ref row, (nuint)j), ref target, (nuint)j);
            }

            for (; j <= panelWidth - 4; j += 4)
            {
                Vector128.StoreUnsafe(Vector128.LoadUnsafe(ref row, (nuint)j), ref target, (nuint)j);
            }

            for (; j < panelWidth; j++)
            {
                Unsafe.Add(ref target, j) = Unsafe.Add(ref row, j);
            }
        }
    }
}
