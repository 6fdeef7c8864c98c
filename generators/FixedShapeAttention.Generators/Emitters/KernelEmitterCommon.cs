using System.Globalization;
using FixedShapeAttention.Generators.Infrastructure;
using FixedShapeAttention.Generators.Model;
using FixedShapeAttention.Generators.Planning;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>Pieces the kernel emitters write the same way.</summary>
internal static class KernelEmitterCommon
{
    /// <summary>
    /// A public kernel entry point as its pair of overloads: without <c>maxDegreeOfParallelism</c>, forwarding the
    /// process default, and with it, whose body <paramref name="body"/> writes. <paramref name="docLines"/> document
    /// the first; the second inherits them. Parameters are (type, name) in the generated spelling.
    /// </summary>
    public static void EmitOverloadPair(SourceWriter w, string name, (string Type, string Name)[] parameters, string[] docLines, System.Action body)
    {
        string declared = string.Join(", ", System.Linq.Enumerable.Select(parameters, p => $"{p.Type} {p.Name}"));
        string forwarded = string.Join(", ", System.Linq.Enumerable.Select(parameters, p => p.Name));
        string cref = string.Join(", ", System.Linq.Enumerable.Select(parameters, p => p.Type.Replace('<', '{').Replace('>', '}')));
        foreach (string line in docLines)
        {
            w.Line(line);
        }

        w.Line(FileHeaderEmitter.GeneratedCode);
        w.Line($"public static void {name}({declared}) =>");
        w.Line($"    {name}({forwarded}, {Spans.DefaultParallelism});");
        w.Line();
        w.Line($"/// <inheritdoc cref=\"{name}({cref})\"/>");
        w.Line("/// <param name=\"maxDegreeOfParallelism\">-1 for every processor, 1 for the calling thread only. Results are bit-identical for every value.</param>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        using (w.Block($"public static void {name}({declared}, int maxDegreeOfParallelism)"))
        {
            body();
        }
    }

    public static string Suffix(IsaBranch isa) => KernelPlanner.Describe(isa) switch
    {
        "scalar" => "Scalar",
        string name => name,
    };

    public static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture).Replace(",", "_");

    public static string TileDescription(KernelPlan plan, System.Func<BranchPlan, ColumnLayout> product)
    {
        var parts = new System.Collections.Generic.List<string>();
        foreach (BranchPlan branch in plan.Branches)
        {
            ColumnLayout layout = product(branch);
            string slot = layout.Lanes switch { 16 => "Vector512", 8 => "Vector256", 4 => "Vector128", _ => "float" };
            // A product narrower than one panel only ever runs its remainder block.
            int slots = layout.FullPanels > 0 ? layout.PanelSlots : layout.RemainderOffsets.Count;
            parts.Add($"{KernelPlanner.Describe(branch.Isa)} {plan.RowTile}×{slots} {slot}");
        }

        return string.Join(", ", parts);
    }

    public static string RowTail(KernelPlan plan) => plan.TailRows == 0
        ? $"{plan.Shape.SequenceLength} rows = {Tiles(plan.FullRowTiles)} of {plan.RowTile}, no row tail."
        : $"{plan.Shape.SequenceLength} rows = {Tiles(plan.FullRowTiles)} of {plan.RowTile} + a tail tile of {plan.TailRows} row{(plan.TailRows == 1 ? "" : "s")}, emitted as its own code.";

    private static string Tiles(int count) => count == 1 ? "1 tile" : $"{count} tiles";

    /// <summary>The ISA ladder of TensorPrimitives: the JIT folds the IsHardwareAccelerated checks, so only one branch remains.</summary>
    public static void EmitLadder(SourceWriter w, KernelPlan plan, System.Action<IsaBranch> call)
    {
        foreach (BranchPlan branch in plan.Branches)
        {
            string? condition = branch.Isa switch
            {
                IsaBranch.Vector512 => "if (Vector512.IsHardwareAccelerated)",
                IsaBranch.Vector256 => "else if (Vector256.IsHardwareAccelerated)",
                _ => null,
            };
            using (w.Block(condition ?? "else"))
            {
                call(branch.Isa);
            }
        }
    }
}
