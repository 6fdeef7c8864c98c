using System.Collections.Generic;
using System.Linq;
using FixedShapeAttention.Generators.Infrastructure;
using FixedShapeAttention.Generators.Model;
using FixedShapeAttention.Scheduling;
using static FixedShapeAttention.Generators.Emitters.KernelEmitterCommon;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// Emits <c>Project</c>: <c>y = x·W + b</c> with W square (EmbeddingDim × EmbeddingDim), the query, key, value and
/// output projections of an attention block, from raw spans or from weights packed by <c>PackProjection</c>. The
/// product is the feed-forward network's second one with depth EmbeddingDim, so it shares its column layout.
/// </summary>
internal static class ProjectionEmitter
{
    private const string Weights = "global::FixedShapeAttention.PackedProjectionWeights";

    public static string Emit(KernelPlan plan)
    {
        ShapeSpec shape = plan.Shape;
        string kernel = shape.Type.Name + "ProjectionKernel";
        string packedKernel = shape.Type.Name + "PackedProjectionKernel";
        long flopsPerSequence = ChunkSizing.ProjectionFlopsPerSequence(shape.SequenceLength, shape.EmbeddingDim);
        int chunks = plan.ProjectionChunksPerSequence;
        var explanation = new List<string>
        {
            $"FixedShapeAttention: Project for {shape.Type.Name}.",
            $"Shape: SequenceLength {shape.SequenceLength}, EmbeddingDim {shape.EmbeddingDim}; y = x·W + b with W [{shape.EmbeddingDim}, {shape.EmbeddingDim}].",
            $"Strategy: {plan.ProjectionReason}.",
            $"Register tiles (rows × vectors): x·W {TileDescription(plan, b => b.FeedForwardOutput)}.",
            "Loop order: column panels outside, row tiles inside, so a panel of W stays in cache while every row of the sequence uses it.",
            "Prepacked overload: PackProjection stores each column panel of W contiguously in the order the tile reads it; bit-identical to the raw-span overload.",
            $"Row tail: {RowTail(plan)}",
            $"Scheduling: {chunks} chunk{(chunks == 1 ? "" : "s")} per sequence, each all {shape.SequenceLength} rows × a share of the column panels (so W is read once per sequence, " +
            $"not once per row block), {Number(flopsPerSequence)} flops per sequence; " +
            $"below {Number(ChunkSizing.ParallelThresholdFlops)} flops per call every chunk runs on the calling thread.",
        };

        return FileHeaderEmitter.Write(
            shape.Type,
            explanation,
            w =>
            {
                EmitPublicApi(w, plan, kernel, flopsPerSequence);
                w.Line();
                EmitPackedPublicApi(w, plan, packedKernel, flopsPerSequence);
            },
            w =>
            {
                EmitKernel(w, plan, kernel, packed: false);
                w.Line();
                EmitKernel(w, plan, packedKernel, packed: true);
            });
    }

    private static void EmitPublicApi(SourceWriter w, KernelPlan plan, string kernel, long flopsPerSequence)
    {
        ShapeSpec shape = plan.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim;
        EmitOverloadPair(
            w,
            "Project",
            new[] { (Spans.ReadOnly, "x"), (Spans.ReadOnly, "w"), (Spans.ReadOnly, "b"), (Spans.Writable, "y") },
            new[]
            {
                $"/// <summary><c>y = x·W + b</c> row by row: x and y are <c>[batch, {s}, {e}]</c>, w is <c>[{e}, {e}]</c> and b <c>[{e}]</c>, all row-major.</summary>",
                "/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape, or <paramref name=\"y\"/> overlaps an input.</exception>",
            },
            () =>
            {
                w.Line($"int batch = global::FixedShapeAttention.CompilerServices.KernelArguments.ValidateProjection(x, w, b, y, {s}, {e});");
                w.Line($"global::FixedShapeAttention.CompilerServices.ParallelRunner.Run(new global::{FileHeaderEmitter.KernelNamespace}.{kernel}(), batch * {plan.ProjectionChunksPerSequence}, batch * {flopsPerSequence}L, maxDegreeOfParallelism, x, w, b, default, default, y);");
            });
    }

    private static void EmitPackedPublicApi(SourceWriter w, KernelPlan plan, string kernel, long flopsPerSequence)
    {
        ShapeSpec shape = plan.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim;
        w.Line($"/// <summary>Packs w <c>[{e}, {e}]</c> and b <c>[{e}]</c> once, for <c>Project(x, weights, y)</c>.</summary>");
        w.Line("/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape.</exception>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        using (w.Block($"public static {Weights} PackProjection({Spans.ReadOnly} w, {Spans.ReadOnly} b)"))
        {
            w.Line($"global::FixedShapeAttention.CompilerServices.KernelArguments.ValidateProjectionWeights(w, b, {e});");
            w.Line($"return global::{FileHeaderEmitter.KernelNamespace}.{kernel}.Pack(w, b);");
        }

        w.Line();
        EmitOverloadPair(
            w,
            "Project",
            new[] { (Spans.ReadOnly, "x"), (Weights, "weights"), (Spans.Writable, "y") },
            new[]
            {
                "/// <summary><c>y = x·W + b</c> with weights from <c>PackProjection</c>; bit-identical to the raw-span overload.</summary>",
                "/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape, <paramref name=\"y\"/> overlaps <paramref name=\"x\"/>, or the weights were packed for another width.</exception>",
            },
            () =>
            {
                w.Line($"int batch = global::FixedShapeAttention.CompilerServices.KernelArguments.ValidatePackedProjection(x, weights, y, {s}, {e}, global::{FileHeaderEmitter.KernelNamespace}.{kernel}.Lanes);");
                w.Line($"global::FixedShapeAttention.CompilerServices.ParallelRunner.Run(new global::{FileHeaderEmitter.KernelNamespace}.{kernel}(), batch * {plan.ProjectionChunksPerSequence}, batch * {flopsPerSequence}L, maxDegreeOfParallelism, x, weights.PackedW, weights.B, default, default, y);");
            });
    }

    private static void EmitKernel(SourceWriter w, KernelPlan plan, string kernel, bool packed)
    {
        ShapeSpec shape = plan.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim;
        int cps = plan.ProjectionChunksPerSequence;
        w.Line($"/// <summary>The chunks of one {shape.Type.Name}.Project call{(packed ? " with prepacked weights" : "")}: chunk = (sequence, range of row tiles).</summary>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        using (w.Block($"file readonly struct {kernel} : IChunkKernel"))
        {
            using (w.Block("public void Execute(in KernelBuffers buffers, int chunk)"))
            {
                if (cps == 1)
                {
                    w.Line("int sequence = chunk;");
                    w.Line("const int part = 0;");
                }
                else
                {
                    w.Line($"int sequence = chunk / {cps};");
                    w.Line($"int part = chunk % {cps};");
                }

                w.Line($"nint rowOffset = (nint)sequence * {s * e};");
                w.Line("ref float x = ref Unsafe.Add(ref buffers.Input0, rowOffset);");
                w.Line("ref float y = ref Unsafe.Add(ref buffers.Output, rowOffset);");
                EmitLadder(w, plan, isa => w.Line($"Rows_{Suffix(isa)}(ref x, ref buffers.Input1, ref buffers.Input2, ref y, part);"));
            }

            if (packed)
            {
                w.Line();
                EmitPacking(w, plan);
            }

            foreach (BranchPlan branch in plan.Branches)
            {
                w.Line();
                EmitRows(w, plan, branch, packed);
            }
        }
    }

    private static void EmitRows(SourceWriter w, KernelPlan plan, BranchPlan branch, bool packed)
    {
        ShapeSpec shape = plan.Shape;
        var product = new ProductSpec("x", shape.EmbeddingDim, "w", shape.EmbeddingDim, "y", shape.EmbeddingDim, shape.EmbeddingDim, branch.FeedForwardOutput)
        {
            Unroll = plan.ProjectionStrategy == KernelStrategy.FullUnroll,
            PackedB = packed,
            ColumnOperand = "bias",
            Epilogue = (_, accumulator, bias) => $"{accumulator} + {bias}",
        };
        ColumnLayout layout = branch.FeedForwardOutput;
        int parts = plan.ProjectionChunksPerSequence;
        if (parts > 1)
        {
            product.Panels = new PanelRange("firstPanel", "panelCount", $"part == {parts - 1}");
        }

        w.Line($"/// <summary>y = x·W + b for all {shape.SequenceLength} rows of a sequence and the chunk's share of the {shape.EmbeddingDim} columns.</summary>");
        using (w.Block($"private static void Rows_{Suffix(branch.Isa)}(ref float x, ref float w, ref float bias, ref float y, int part)"))
        {
            w.Line($"const int fullTiles = {plan.FullRowTiles};");
            if (plan.TailRows > 0)
            {
                w.Line("const bool hasTail = true;");
            }
            if (parts > 1)
            {
                w.Line($"// Columns are split, not rows: each chunk streams its {layout.PanelWidth}-column panels of W once for every row.");
                w.Line($"int firstPanel = RowPartition.Start({layout.FullPanels}, {parts}, part);");
                w.Line($"int panelCount = RowPartition.Count({layout.FullPanels}, {parts}, part);");
            }

            MatMulEmitter.EmitRowTiles(w, product, plan.RowTile, plan.TailRows);
        }
    }

    private static void EmitPacking(SourceWriter w, KernelPlan plan)
    {
        int e = plan.Shape.EmbeddingDim;
        w.Line("/// <summary>The vector width this process's branch uses, the layout key of packed weights.</summary>");
        w.Line("public static int Lanes => Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 1;");
        w.Line();
        using (w.Block($"public static {Weights} Pack(ReadOnlySpan<float> w, ReadOnlySpan<float> b)"))
        {
            w.Line("float[] packedW;");
            EmitLadder(w, plan, isa =>
            {
                BranchPlan branch = plan.Branches.First(b => b.Isa == isa);
                w.Line($"packedW = new float[{PanelPacking.PackedFloats(branch.FeedForwardOutput, e)}];");
                w.Line($"PackW_{Suffix(isa)}(w, packedW);");
            });
            w.Line($"return {Weights}.FromPacked({e}, Lanes, packedW, b.ToArray());");
        }

        foreach (BranchPlan branch in plan.Branches)
        {
            w.Line();
            PanelPacking.EmitPackMethod(w, $"PackW_{Suffix(branch.Isa)}", branch.FeedForwardOutput, e);
        }
    }
}
