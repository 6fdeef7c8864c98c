using FixedShapeAttention.Generators.Infrastructure;
using FixedShapeAttention.Generators.Model;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// The packing side of the prepacked overloads (feed-forward and projection): B copied block by block (full panels,
/// then the remainder slots, overlapping one included), k-major, slots side by side: exactly the order and offsets
/// the packed tile loads (MatMulEmitter.Block).
/// </summary>
internal static class PanelPacking
{
    public static int PackedFloats(ColumnLayout layout, int depth) =>
        depth * (layout.FullPanels * layout.PanelWidth + layout.RemainderOffsets.Count * layout.Lanes);

    public static void EmitPackMethod(SourceWriter w, string name, ColumnLayout layout, int depth)
    {
        int columns = layout.Columns;
        using (w.Block($"private static void {name}(ReadOnlySpan<float> source, Span<float> packed)"))
        {
            w.Line("int offset = 0;");
            if (layout.FullPanels > 0)
            {
                using (w.Block($"for (int col = 0; col < {layout.FullPanels * layout.PanelWidth}; col += {layout.PanelWidth})"))
                {
                    using (w.Block($"for (int k = 0; k < {depth}; k++, offset += {layout.PanelWidth})"))
                    {
                        w.Line($"source.Slice(k * {columns} + col, {layout.PanelWidth}).CopyTo(packed.Slice(offset));");
                    }
                }
            }

            if (layout.RemainderOffsets.Count > 0)
            {
                using (w.Block($"for (int k = 0; k < {depth}; k++)"))
                {
                    foreach (int slot in layout.RemainderOffsets)
                    {
                        w.Line($"source.Slice(k * {columns} + {slot}, {layout.Lanes}).CopyTo(packed.Slice(offset));");
                        w.Line($"offset += {layout.Lanes};");
                    }
                }
            }
        }
    }
}
