using static FixedShapeAttention.Generators.Emitters.KernelEmitterCommon;
using static FixedShapeAttention.Generators.Emitters.WeightedKernels;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// Emits <c>Project</c>: <c>y = x·W + b</c> with W square (EmbeddingDim × EmbeddingDim), the query, key, value and
/// output projections of an attention block, from raw spans or from weights packed by <c>PackProjection</c>, through
/// one kernel body. Chunks take every row of a sequence and a share of W's column panels.
/// </summary>
internal static class ProjectionEmitter
{
    public static string Emit(KernelPlan plan)
    {
        int s = plan.Shape.SequenceLength, e = plan.Shape.EmbeddingDim;
        var api = new WeightedApi("Project", "y = x·W + b", "global::FixedShapeAttention.PackedProjectionWeights", new[] { "w", "b" }, new[] { $"[{e}, {e}]", $"[{e}]" }, new[] { "weights.PackedW", "weights.B" })
        {
            Noun = "Projection",
            Dimensions = new[] { $"{s}", $"{e}" },
            Summary = new[] { $"/// <summary><c>y = x·W + b</c> row by row: x and y are <c>[batch, {s}, {e}]</c>, w is <c>[{e}, {e}]</c> and b <c>[{e}]</c>, all row-major.</summary>" },
            Explanation = Explanation(plan),
            Run = (w, kernel, weights) => w.List(
                $"{Spans.CompilerServices}.ParallelRunner.Run(",
                new[] { $"new global::{FileHeaderEmitter.KernelNamespace}.{kernel}()", Times("batch", plan.ProjectionChunksPerSequence), $"batch * {plan.ProjectionFlopsPerSequence}L", "maxDegreeOfParallelism", "x" }
                    .Concat(weights).Concat(new[] { "default", "default", "y" }),
                ");"),
        };
        var matrices = new[] { ("w", (System.Func<BranchPlan, ProductPlan>)(b => b.ProjectionOutput)) };
        return Write(plan, api, "Projection", (w, kernel) => EmitKernel(w, plan, kernel), matrices, $"{api.WeightsType}.FromPacked({e}, Lanes, packedW, b.ToArray())");
    }

    private static IEnumerable<string> Explanation(KernelPlan plan)
    {
        ShapeSpec shape = plan.Shape;
        int chunks = plan.ProjectionChunksPerSequence;
        yield return $"Shape: SequenceLength {shape.SequenceLength}, EmbeddingDim {shape.EmbeddingDim}; y = x·W + b with W [{shape.EmbeddingDim}, {shape.EmbeddingDim}].";
        yield return Strategy(plan, b => b.Projection);
        yield return $"Register tiles (rows × vectors): x·W {TileDescription(plan, b => b.ProjectionOutput)}.";
        yield return "Loop order: column panels outside, row tiles inside, so a panel of W stays in cache while every row of the sequence uses it.";
        yield return "Prepacked overload: PackProjection stores each column panel of W contiguously in the order the tile reads it; " +
            "the same kernel body reads it there (bit-identical to the raw-span overload).";
        yield return PlainArrays(plan, ("W", b => b.ProjectionOutput));
        yield return RowTail(plan);
        yield return $"Scheduling: {Plural(chunks, "chunk")} per sequence, each all {shape.SequenceLength} rows" +
            (chunks == 1 ? "" : " × a share of the column panels (so W is read once per sequence, not once per row block)") + ", " +
            Threshold(plan, plan.ProjectionFlopsPerSequence);
    }

    private static void EmitKernel(SourceWriter w, KernelPlan plan, string kernel)
    {
        ShapeSpec shape = plan.Shape;
        int cps = plan.ProjectionChunksPerSequence;
        using (OpenKernel(w, kernel, $"The chunks of one {shape.Type.Name}.Project call: chunk = (sequence, share of the column panels)."))
        {
            using (w.Block("public void Execute(in KernelBuffers buffers, int chunk)"))
            {
                w.Line(cps == 1 ? "int sequence = chunk;" : $"int sequence = chunk / {cps};");
                w.Line(cps == 1 ? "const int part = 0;" : $"int part = chunk % {cps};");
                w.Line($"nint rowOffset = (nint)sequence * {shape.SequenceLength * shape.EmbeddingDim};");
                w.Line("ref float x = ref Unsafe.Add(ref buffers.Input0, rowOffset);");
                w.Line("ref float y = ref Unsafe.Add(ref buffers.Output, rowOffset);");
                int panelFloats = plan.PanelScratchFloats(b => b.ProjectionOutput);
                w.Line(panelFloats == 0
                    ? "ref float panelScratch = ref Unsafe.NullRef<float>(); // W is read in place (see the remarks)"
                    : $"ref float panelScratch = ref MemoryMarshal.GetReference(WorkerScratch.Get(TWeights.IsPacked ? 0 : {panelFloats}));");
                EmitLadder(w, plan, (arm, isa) =>
                    arm.Line($"Rows_{Suffix(plan.BodyOwner(isa, b => b.ProjectionOutput))}(ref x, ref buffers.Input1, ref buffers.Input2, ref y, ref panelScratch, part);"));
            }

            EmitBodies(w, plan, b => b.ProjectionOutput, branch => EmitRows(w, plan, branch));
        }
    }

    private static void EmitRows(SourceWriter w, KernelPlan plan, BranchPlan branch)
    {
        ShapeSpec shape = plan.Shape;
        ProductSpec product = Affine("x", shape.EmbeddingDim, "w", "y", branch.ProjectionOutput, "bias");
        product.PanelScratch = "panelScratch";
        w.Line($"/// <summary>y = x·W + b for all {shape.SequenceLength} rows of a sequence and the chunk's share of the {shape.EmbeddingDim} columns.</summary>");
        using (w.Block($"private static void Rows_{Suffix(branch.Isa)}(ref float x, ref float w, ref float bias, ref float y, ref float panelScratch, int part)"))
        {
            EmitAllRows(w, plan);
            if (branch.ProjectionOutput.Share is not null)
            {
                w.Line($"// Columns are split, not rows: each chunk streams its {branch.ProjectionOutput.Layout.PanelWidth}-column panels of W once for every row.");
            }

            MatMulEmitter.EmitRowTiles(w, product, plan.RowTile, plan.TailRows);
        }
    }
}
