using System;
using System.Linq;
using FixedShapeAttention.Generators.Infrastructure;
using FixedShapeAttention.Generators.Model;
using static FixedShapeAttention.Generators.Emitters.KernelEmitterCommon;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// What the kernels with weights (feed-forward network and projection) share: one kernel body for raw and packed
/// weights, told apart by a struct type argument; the packing class; and the row range of a chunk.
/// </summary>
internal static class WeightedKernels
{
    /// <summary>The weight layouts of <c>FixedShapeAttention.CompilerServices</c>: the JIT compiles a kernel once per
    /// struct argument, so <c>TWeights.IsPacked</c> is a constant in each and the choice costs nothing in the inner loop.</summary>
    public const string RowMajor = Spans.CompilerServices + ".RowMajorWeights";

    public const string Packed = Spans.CompilerServices + ".PackedWeights";

    /// <summary>The kernel struct's header, generic over the weight layout, and its offset selector.</summary>
    public static SourceWriter.Scope OpenKernel(SourceWriter w, string kernel, string summary)
    {
        w.Line($"/// <summary>{summary}</summary>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        w.Line($"file readonly struct {kernel}<TWeights> : IChunkKernel");
        w.Line("    where TWeights : struct, IWeightLayout");
        SourceWriter.Scope scope = w.Block();
        w.Line("/// <summary>B's offset in the packed layout or in the row-major one: a constant once the JIT knows TWeights.</summary>");
        w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        w.Line("private static nint Weights(nint packed, nint rowMajor) => TWeights.IsPacked ? packed : rowMajor;");
        w.Line();
        return scope;
    }

    /// <summary>
    /// The packing class: <c>Lanes</c>, the layout key of packed weights, and <c>Pack</c>, which copies each B
    /// (<paramref name="matrices"/>: source span, depth and product per branch) in the order the kernel's packed
    /// instantiation reads it, then hands the arrays to <paramref name="fromPacked"/>.
    /// </summary>
    public static void EmitPacking(
        SourceWriter w,
        KernelPlan plan,
        string className,
        string weightsType,
        string[] parameters,
        (string Source, Func<BranchPlan, ProductPlan> Product)[] matrices,
        string fromPacked)
    {
        w.Line($"/// <summary>Packs weights for {plan.Shape.Type.Name}'s kernels on this process's ISA branch.</summary>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        using (w.Block($"file static class {className}"))
        {
            w.Line("/// <summary>The vector width this process's branch uses, the layout key of packed weights.</summary>");
            w.Line("public static int Lanes => Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 1;");
            w.Line();
            w.List($"public static {weightsType} Pack(", parameters.Select(p => $"ReadOnlySpan<float> {p}"), ")");
            using (w.Block())
            {
                w.Line($"float[] {string.Join(", ", matrices.Select(m => "packed" + Capitalised(m.Source)))};");
                EmitLadder(w, plan, (arm, isa) =>
                {
                    foreach ((string source, Func<BranchPlan, ProductPlan> product) in matrices)
                    {
                        ProductPlan p = product(plan.Branch(isa));
                        ColumnLayout layout = p.Layout;
                        string target = "packed" + Capitalised(source);
                        string remainder = "[" + string.Join(", ", layout.RemainderOffsets) + "]";
                        arm.Line($"{target} = new float[{p.PackedFloats}];");
                        arm.Line($"PanelPacking.Pack({source}, {target}, {layout.Columns}, {p.Depth}, {layout.PanelWidth}, {layout.FullPanels}, {layout.Lanes}, {remainder});");
                    }
                });
                w.Line($"return {fromPacked};");
            }
        }
    }

    /// <summary>The row range of a chunk that takes every row of its sequence; <c>hasTail</c> only where something reads it.</summary>
    public static void EmitAllRows(SourceWriter w, KernelPlan plan, bool passesTail = false)
    {
        w.Line($"const int fullTiles = {plan.FullRowTiles};");
        if (passesTail || plan.TailRows > 0)
        {
            w.Line($"const bool hasTail = {(plan.TailRows > 0 ? "true" : "false")};");
        }
    }

    /// <summary>The row range of chunk <c>chunk</c> when a sequence's row tiles are cut into <paramref name="chunks"/>
    /// (constants when the sequence is one chunk).</summary>
    public static void EmitRowRange(SourceWriter w, KernelPlan plan, int chunks)
    {
        if (chunks == 1)
        {
            w.Line("int sequence = chunk;");
            w.Line("const int firstTile = 0;");
            EmitAllRows(w, plan, passesTail: true);
            return;
        }

        w.Line($"int sequence = chunk / {chunks};");
        w.Line($"int part = chunk % {chunks};");
        w.Line($"int firstTile = RowPartition.Start({plan.RowTiles}, {chunks}, part);");
        w.Line($"int tileCount = RowPartition.Count({plan.RowTiles}, {chunks}, part);");
        w.Line($"int fullTiles = Math.Min(firstTile + tileCount, {plan.FullRowTiles}) - firstTile;");
        w.Line($"bool hasTail = firstTile + tileCount > {plan.FullRowTiles};");
    }

    private static string Capitalised(string name) => char.ToUpperInvariant(name[0]) + name.Substring(1);

    /// <summary>Per branch, the bodies of a product, each emitted once by <paramref name="emit"/> for its owner.</summary>
    public static void EmitBodies(SourceWriter w, KernelPlan plan, Func<BranchPlan, ProductPlan> product, Action<BranchPlan> emit)
    {
        foreach (IsaBranch owner in plan.BodyOwners(product))
        {
            w.Line();
            emit(plan.Branch(owner));
        }
    }
}
