using System.Collections.Generic;
using System.Linq;
using FixedShapeAttention.Generators.Infrastructure;
using FixedShapeAttention.Generators.Model;
using FixedShapeAttention.Scheduling;
using static FixedShapeAttention.Generators.Emitters.KernelEmitterCommon;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// Emits <c>FeedForward</c>: per (sequence, row range) hidden = act(x·W1 + b1) into the worker's scratch, then
/// y = hidden·W2 + b2, bias and activation applied in the epilogue of each register tile.
/// </summary>
internal static class FeedForwardEmitter
{
    public static string Emit(KernelPlan plan)
    {
        ShapeSpec shape = plan.Shape;
        string kernel = shape.Type.Name + "FeedForwardKernel";
        long flopsPerSequence = ChunkSizing.FeedForwardFlopsPerSequence(shape.SequenceLength, shape.EmbeddingDim, shape.FfnDim);
        var explanation = new List<string>
        {
            $"FixedShapeAttention: FeedForward for {shape.Type.Name}.",
            $"Shape: SequenceLength {shape.SequenceLength}, EmbeddingDim {shape.EmbeddingDim}, FfnDim {shape.FfnDim}; y = {shape.Activation}(x·W1 + b1)·W2 + b2.",
            $"Strategy: {plan.FeedForwardReason}.",
            $"Register tiles (rows × vectors): x·W1 {TileDescription(plan, b => b.Hidden)}; h·W2 {TileDescription(plan, b => b.FeedForwardOutput)}.",
            "Loop order: column panels outside, row tiles inside, so a panel of W stays in cache while every row of the chunk uses it.",
            $"Row tail: {RowTail(plan)}",
            plan.FeedForwardColumnSplit
                ? $"Scheduling: columns split, not rows (SequenceLength ≤ {ChunkSizing.MaxColumnSplitSequence} and W1 + W2 ≥ {ChunkSizing.MinColumnSplitWeightFloats * 4 / 1024 / 1024} MiB): phase 1 = {ChunkSizing.ProjectionColumnChunks} chunks per sequence, each all rows × a share of W1's column panels, into the call's hidden rows; " +
                  $"phase 2 = {ChunkSizing.ProjectionColumnChunks} chunks per sequence over W2's columns; so each weight is read once per sequence. {Number(flopsPerSequence)} flops per sequence; " +
                  $"below {Number(ChunkSizing.ParallelThresholdFlops)} flops per call both phases run on the calling thread."
                : $"Scheduling: {plan.FeedForwardChunksPerSequence} chunk{(plan.FeedForwardChunksPerSequence == 1 ? "" : "s")} per sequence of at most {plan.FeedForwardMaxRowsPerChunk} rows " +
                  $"(hidden block {plan.FeedForwardScratchFloats * 4 / 1024} KiB), {Number(flopsPerSequence)} flops per sequence; " +
                  $"below {Number(ChunkSizing.ParallelThresholdFlops)} flops per call every chunk runs on the calling thread.",
        };

        explanation.Insert(5, "Prepacked overload: PackFeedForward stores each column panel of W1 and W2 contiguously in the order the tile reads it; " +
            "FeedForward(x, weights, y) then streams B instead of striding through it, with the same multiply-adds in the same order (bit-identical results).");
        string packedKernel = shape.Type.Name + "PackedFeedForwardKernel";
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
        int s = shape.SequenceLength, e = shape.EmbeddingDim, f = shape.FfnDim;
        EmitOverloadPair(
            w,
            "FeedForward",
            new[] { (Spans.ReadOnly, "x"), (Spans.ReadOnly, "w1"), (Spans.ReadOnly, "b1"), (Spans.ReadOnly, "w2"), (Spans.ReadOnly, "b2"), (Spans.Writable, "y") },
            new[]
            {
                $"/// <summary><c>y = {shape.Activation}(x·W1 + b1)·W2 + b2</c> row by row: x and y are <c>[batch, {s}, {e}]</c>, w1 is <c>[{e}, {f}]</c>, b1 <c>[{f}]</c>, " +
                    $"w2 <c>[{f}, {e}]</c>, b2 <c>[{e}]</c>, all row-major.</summary>",
                "/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape, or <paramref name=\"y\"/> overlaps an input.</exception>",
            },
            () =>
            {
                w.Line($"int batch = global::FixedShapeAttention.CompilerServices.KernelArguments.ValidateFeedForward(x, w1, b1, w2, b2, y, {s}, {e}, {f});");
                EmitRun(w, plan, kernel, flopsPerSequence, "x", "w1", "b1", "w2", "b2", "y");
            });
    }

    private static void EmitPackedPublicApi(SourceWriter w, KernelPlan plan, string kernel, long flopsPerSequence)
    {
        ShapeSpec shape = plan.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim, f = shape.FfnDim;
        const string Weights = "global::FixedShapeAttention.PackedFeedForwardWeights";
        w.Line($"/// <summary>Packs w1 <c>[{e}, {f}]</c>, b1 <c>[{f}]</c>, w2 <c>[{f}, {e}]</c> and b2 <c>[{e}]</c> once, for <c>FeedForward(x, weights, y)</c>.</summary>");
        w.Line("/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape.</exception>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        using (w.Block($"public static {Weights} PackFeedForward({Spans.ReadOnly} w1, {Spans.ReadOnly} b1, {Spans.ReadOnly} w2, {Spans.ReadOnly} b2)"))
        {
            w.Line($"global::FixedShapeAttention.CompilerServices.KernelArguments.ValidateFeedForwardWeights(w1, b1, w2, b2, {e}, {f});");
            w.Line($"return global::{FileHeaderEmitter.KernelNamespace}.{kernel}.Pack(w1, b1, w2, b2);");
        }

        w.Line();
        EmitOverloadPair(
            w,
            "FeedForward",
            new[] { (Spans.ReadOnly, "x"), (Weights, "weights"), (Spans.Writable, "y") },
            new[]
            {
                $"/// <summary><c>y = {shape.Activation}(x·W1 + b1)·W2 + b2</c> with weights from <c>PackFeedForward</c>; bit-identical to the raw-span overload.</summary>",
                "/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape, <paramref name=\"y\"/> overlaps <paramref name=\"x\"/>, or the weights were packed for other dimensions.</exception>",
            },
            () =>
            {
                w.Line($"int batch = global::FixedShapeAttention.CompilerServices.KernelArguments.ValidatePackedFeedForward(x, weights, y, {s}, {e}, {f}, global::{FileHeaderEmitter.KernelNamespace}.{kernel}.Lanes);");
                EmitRun(w, plan, kernel, flopsPerSequence, "x", "weights.PackedW1", "weights.B1", "weights.PackedW2", "weights.B2", "y");
            });
    }

    /// <summary>The scheduling part of a public FeedForward: one parallel call over row chunks, or two over column chunks.</summary>
    private static void EmitRun(SourceWriter w, KernelPlan plan, string kernel, long flopsPerSequence, string x, string w1, string b1, string w2, string b2, string y)
    {
        string run = "global::FixedShapeAttention.CompilerServices.ParallelRunner.Run";
        string type = $"global::{FileHeaderEmitter.KernelNamespace}.{kernel}";
        if (!plan.FeedForwardColumnSplit)
        {
            w.Line($"{run}(new {type}(), batch * {plan.FeedForwardChunksPerSequence}, batch * {flopsPerSequence}L, maxDegreeOfParallelism, {x}, {w1}, {b1}, {w2}, {b2}, {y});");
            return;
        }

        ShapeSpec shape = plan.Shape;
        int chunks = ChunkSizing.ProjectionColumnChunks;
        w.Line($"// Two phases over column chunks (see the header): the hidden rows of the whole call live in between. Both pass");
        w.Line($"// the call's flops, so the call goes parallel exactly when a row-split call of the same work would.");
        w.Line($"global::System.Span<float> hidden = global::FixedShapeAttention.CompilerServices.CallScratch.Get(batch * {shape.SequenceLength * shape.FfnDim});");
        w.Line($"{run}(new {type}(HiddenPhase: true), batch * {chunks}, batch * {flopsPerSequence}L, maxDegreeOfParallelism, {x}, {w1}, {b1}, default, default, hidden);");
        w.Line($"{run}(new {type}(HiddenPhase: false), batch * {chunks}, batch * {flopsPerSequence}L, maxDegreeOfParallelism, hidden, {w2}, {b2}, default, default, {y});");
    }

    private static void EmitKernel(SourceWriter w, KernelPlan plan, string kernel, bool packed)
    {
        if (plan.FeedForwardColumnSplit)
        {
            EmitColumnSplitKernel(w, plan, kernel, packed);
            return;
        }

        ShapeSpec shape = plan.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim;
        int cps = plan.FeedForwardChunksPerSequence;
        w.Line(packed
            ? $"/// <summary>The chunks of one {shape.Type.Name}.FeedForward call with prepacked weights: chunk = (sequence, range of row tiles).</summary>"
            : $"/// <summary>The chunks of one {shape.Type.Name}.FeedForward call: chunk = (sequence, range of row tiles).</summary>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        using (w.Block($"file readonly struct {kernel} : IChunkKernel"))
        {
            using (w.Block("public void Execute(in KernelBuffers buffers, int chunk)"))
            {
                if (cps == 1)
                {
                    w.Line("int sequence = chunk;");
                    w.Line("const int firstTile = 0;");
                    w.Line($"const int tileCount = {plan.RowTiles};");
                }
                else
                {
                    w.Line($"int sequence = chunk / {cps};");
                    w.Line($"int part = chunk % {cps};");
                    w.Line($"int firstTile = RowPartition.Start({plan.RowTiles}, {cps}, part);");
                    w.Line($"int tileCount = RowPartition.Count({plan.RowTiles}, {cps}, part);");
                }

                w.Line($"int fullTiles = Math.Min(firstTile + tileCount, {plan.FullRowTiles}) - firstTile;");
                w.Line($"bool hasTail = firstTile + tileCount > {plan.FullRowTiles};");
                w.Line($"nint rowOffset = ((nint)sequence * {s} + firstTile * {plan.RowTile}) * {e};");
                w.Line("ref float x = ref Unsafe.Add(ref buffers.Input0, rowOffset);");
                w.Line("ref float y = ref Unsafe.Add(ref buffers.Output, rowOffset);");
                w.Line($"// Scratch: the hidden activations of this chunk's rows, at most {plan.FeedForwardMaxRowsPerChunk} × {shape.FfnDim}.");
                w.Line($"ref float hidden = ref MemoryMarshal.GetReference(WorkerScratch.Get({plan.FeedForwardScratchFloats}));");
                EmitLadder(w, plan, isa =>
                {
                    w.Line($"Hidden_{Suffix(isa)}(ref x, ref buffers.Input1, ref buffers.Input2, ref hidden, fullTiles, hasTail);");
                    w.Line($"Output_{Suffix(isa)}(ref hidden, ref buffers.Input3, ref buffers.Input4, ref y, fullTiles, hasTail);");
                });
            }

            if (packed)
            {
                w.Line();
                EmitPacking(w, plan);
            }

            foreach (BranchPlan branch in plan.Branches)
            {
                w.Line();
                EmitHidden(w, plan, branch, packed);
                w.Line();
                EmitOutput(w, plan, branch, packed);
            }
        }
    }

    /// <summary>
    /// The column-split kernel: phase 1 chunk = (sequence, share of W1's column panels), writing hidden; phase 2 chunk
    /// = (sequence, share of W2's column panels), reading all of hidden. Every element is the same chain of
    /// multiply-adds as in the row-split kernel, so the results are too.
    /// </summary>
    private static void EmitColumnSplitKernel(SourceWriter w, KernelPlan plan, string kernel, bool packed)
    {
        ShapeSpec shape = plan.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim, f = shape.FfnDim;
        int chunks = ChunkSizing.ProjectionColumnChunks;
        w.Line($"/// <summary>The chunks of one phase of a {shape.Type.Name}.FeedForward call{(packed ? " with prepacked weights" : "")}: chunk = (sequence, share of the column panels).</summary>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        using (w.Block($"file readonly struct {kernel} : IChunkKernel"))
        {
            w.Line("private readonly bool _hiddenPhase;");
            w.Line();
            w.Line($"public {kernel}(bool HiddenPhase) => _hiddenPhase = HiddenPhase;");
            w.Line();
            using (w.Block("public void Execute(in KernelBuffers buffers, int chunk)"))
            {
                w.Line($"int sequence = chunk / {chunks};");
                w.Line($"int part = chunk % {chunks};");
                using (w.Block("if (_hiddenPhase)"))
                {
                    w.Line($"ref float x = ref Unsafe.Add(ref buffers.Input0, (nint)sequence * {s * e});");
                    w.Line($"ref float hidden = ref Unsafe.Add(ref buffers.Output, (nint)sequence * {s * f});");
                    EmitLadder(w, plan, isa => w.Line($"Hidden_{Suffix(isa)}(ref x, ref buffers.Input1, ref buffers.Input2, ref hidden, part);"));
                }

                using (w.Block("else"))
                {
                    w.Line($"ref float hidden = ref Unsafe.Add(ref buffers.Input0, (nint)sequence * {s * f});");
                    w.Line($"ref float y = ref Unsafe.Add(ref buffers.Output, (nint)sequence * {s * e});");
                    EmitLadder(w, plan, isa => w.Line($"Output_{Suffix(isa)}(ref hidden, ref buffers.Input1, ref buffers.Input2, ref y, part);"));
                }
            }

            if (packed)
            {
                w.Line();
                EmitPacking(w, plan);
            }

            foreach (BranchPlan branch in plan.Branches)
            {
                w.Line();
                EmitHidden(w, plan, branch, packed);
                w.Line();
                EmitOutput(w, plan, branch, packed);
            }
        }
    }

    /// <summary>Declares a column-split chunk's panels and which part owns the remainder block: the part holding the last
    /// full panel, so the overlapping remainder slot never writes into another chunk's columns.</summary>
    private static void EmitPanelShare(SourceWriter w, KernelPlan plan, ProductSpec product)
    {
        int chunks = ChunkSizing.ProjectionColumnChunks;
        ColumnLayout layout = product.Layout;
        int owner = layout.FullPanels == 0 ? 0 : System.Math.Min(chunks, layout.FullPanels) - 1;
        w.Line($"const int fullTiles = {plan.FullRowTiles};");
        if (plan.TailRows > 0)
        {
            w.Line("const bool hasTail = true;");
        }

        w.Line($"int firstPanel = RowPartition.Start({layout.FullPanels}, {chunks}, part);");
        w.Line($"int panelCount = RowPartition.Count({layout.FullPanels}, {chunks}, part);");
        product.Panels = new PanelRange("firstPanel", "panelCount", $"part == {owner}");
    }

    private static void EmitHidden(SourceWriter w, KernelPlan plan, BranchPlan branch, bool packed)
    {
        ShapeSpec shape = plan.Shape;
        string activation = $"{shape.Activation}Operator";
        // ReLU is one instruction and stays in the tile's epilogue; the smooth activations run as a pass of their own
        // (see ActivationPass: inlined into every tile they pushed the accumulators out of registers).
        bool separatePass = shape.Activation != ActivationKind.Relu;
        var product = new ProductSpec("x", shape.EmbeddingDim, "w1", shape.FfnDim, "hidden", shape.FfnDim, shape.EmbeddingDim, branch.Hidden)
        {
            Unroll = plan.FeedForwardStrategy == KernelStrategy.FullUnroll,
            PackedB = packed,
            ColumnOperand = "b1",
            Epilogue = separatePass
                ? (_, accumulator, bias) => $"{accumulator} + {bias}"
                : (_, accumulator, bias) => $"{activation}.Invoke({accumulator} + {bias})",
        };
        string pass = branch.Isa switch { IsaBranch.Vector512 => "Apply512", IsaBranch.Vector256 => "Apply256", _ => "ApplyScalar" };
        if (plan.FeedForwardColumnSplit)
        {
            w.Line($"/// <summary>hidden = {shape.Activation}(x·W1 + b1) for all {shape.SequenceLength} rows and the chunk's share of the {shape.FfnDim} columns.</summary>");
            using (w.Block($"private static void Hidden_{Suffix(branch.Isa)}(ref float x, ref float w1, ref float b1, ref float hidden, int part)"))
            {
                EmitPanelShare(w, plan, product);
                MatMulEmitter.EmitRowTiles(w, product, plan.RowTile, plan.TailRows);
                if (separatePass)
                {
                    ColumnLayout layout = branch.Hidden;
                    string end = $"{product.Panels!.OwnsRemainder} ? {shape.FfnDim} : (firstPanel + panelCount) * {layout.PanelWidth}";
                    w.Line($"int firstColumn = firstPanel * {layout.PanelWidth};");
                    w.Line($"int columns = ({end}) - firstColumn;");
                    using (w.Block($"for (int row = 0; row < {shape.SequenceLength}; row++)"))
                    {
                        w.Line($"ActivationPass.{pass}<{activation}>(ref Unsafe.Add(ref hidden, row * {shape.FfnDim} + firstColumn), columns);");
                    }
                }
            }

            return;
        }

        w.Line($"/// <summary>hidden = {shape.Activation}(x·W1 + b1) for the chunk's rows, {shape.FfnDim} columns.</summary>");
        using (w.Block($"private static void Hidden_{Suffix(branch.Isa)}(ref float x, ref float w1, ref float b1, ref float hidden, int fullTiles, bool hasTail)"))
        {
            MatMulEmitter.EmitRowTiles(w, product, plan.RowTile, plan.TailRows);
            if (separatePass)
            {
                string rows = plan.TailRows > 0 ? $"fullTiles * {plan.RowTile} + (hasTail ? {plan.TailRows} : 0)" : $"fullTiles * {plan.RowTile}";
                w.Line($"ActivationPass.{pass}<{activation}>(ref hidden, ({rows}) * {shape.FfnDim});");
            }
        }
    }

    private static void EmitOutput(SourceWriter w, KernelPlan plan, BranchPlan branch, bool packed)
    {
        ShapeSpec shape = plan.Shape;
        var product = new ProductSpec("hidden", shape.FfnDim, "w2", shape.EmbeddingDim, "y", shape.EmbeddingDim, shape.FfnDim, branch.FeedForwardOutput)
        {
            Unroll = plan.FeedForwardStrategy == KernelStrategy.FullUnroll,
            PackedB = packed,
            ColumnOperand = "b2",
            Epilogue = (_, accumulator, bias) => $"{accumulator} + {bias}",
        };
        if (plan.FeedForwardColumnSplit)
        {
            w.Line($"/// <summary>y = hidden·W2 + b2 for all {shape.SequenceLength} rows and the chunk's share of the {shape.EmbeddingDim} columns.</summary>");
            using (w.Block($"private static void Output_{Suffix(branch.Isa)}(ref float hidden, ref float w2, ref float b2, ref float y, int part)"))
            {
                EmitPanelShare(w, plan, product);
                MatMulEmitter.EmitRowTiles(w, product, plan.RowTile, plan.TailRows);
            }

            return;
        }

        w.Line($"/// <summary>y = hidden·W2 + b2 for the chunk's rows, {shape.EmbeddingDim} columns.</summary>");
        using (w.Block($"private static void Output_{Suffix(branch.Isa)}(ref float hidden, ref float w2, ref float b2, ref float y, int fullTiles, bool hasTail)"))
        {
            MatMulEmitter.EmitRowTiles(w, product, plan.RowTile, plan.TailRows);
        }
    }

    /// <summary>
    /// The packing side of the prepacked overload: per ISA branch, each product's B is copied block by block (full
    /// panels, then the remainder slots, overlapping one included), k-major, slots side by side: exactly the order
    /// and offsets the packed tile loads (MatMulEmitter.Block).
    /// </summary>
    private static void EmitPacking(SourceWriter w, KernelPlan plan)
    {
        ShapeSpec shape = plan.Shape;
        int e = shape.EmbeddingDim, f = shape.FfnDim;
        w.Line("/// <summary>The vector width this process's branch uses, the layout key of packed weights.</summary>");
        w.Line("public static int Lanes => Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 1;");
        w.Line();
        using (w.Block("public static global::FixedShapeAttention.PackedFeedForwardWeights Pack(ReadOnlySpan<float> w1, ReadOnlySpan<float> b1, ReadOnlySpan<float> w2, ReadOnlySpan<float> b2)"))
        {
            w.Line("float[] packedW1, packedW2;");
            EmitLadder(w, plan, isa =>
            {
                BranchPlan branch = plan.Branches.First(b => b.Isa == isa);
                w.Line($"packedW1 = new float[{PanelPacking.PackedFloats(branch.Hidden, e)}];");
                w.Line($"packedW2 = new float[{PanelPacking.PackedFloats(branch.FeedForwardOutput, f)}];");
                w.Line($"PackW1_{Suffix(isa)}(w1, packedW1);");
                w.Line($"PackW2_{Suffix(isa)}(w2, packedW2);");
            });
            w.Line($"return global::FixedShapeAttention.PackedFeedForwardWeights.FromPacked({e}, {f}, Lanes, packedW1, b1.ToArray(), packedW2, b2.ToArray());");
        }

        foreach (BranchPlan branch in plan.Branches)
        {
            w.Line();
            PanelPacking.EmitPackMethod(w, $"PackW1_{Suffix(branch.Isa)}", branch.Hidden, e);
            w.Line();
            PanelPacking.EmitPackMethod(w, $"PackW2_{Suffix(branch.Isa)}", branch.FeedForwardOutput, f);
        }
    }
}
