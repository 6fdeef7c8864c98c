using static FixedShapeAttention.Generators.Emitters.KernelEmitterCommon;
using static FixedShapeAttention.Generators.Emitters.WeightedKernels;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// Emits <c>FeedForward</c>: per (sequence, row range) hidden = act(x·W1 + b1) into the worker's scratch, then
/// y = hidden·W2 + b2, bias (and ReLU) applied in the epilogue of each register tile; or, when the plan splits columns,
/// the same two products as two phases over column chunks. One kernel body serves raw and packed weights.
/// </summary>
internal static class FeedForwardEmitter
{
    public static string Emit(KernelPlan plan)
    {
        ShapeSpec shape = plan.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim, f = shape.FfnDim;
        string formula = $"y = {shape.Activation}(x·W1 + b1)·W2 + b2";
        var api = new WeightedApi(
            "FeedForward", formula, "global::FixedShapeAttention.PackedFeedForwardWeights", new[] { "w1", "b1", "w2", "b2" }, new[] { $"[{e}, {f}]", $"[{f}]", $"[{f}, {e}]", $"[{e}]" },
            new[] { "weights.PackedW1", "weights.B1", "weights.PackedW2", "weights.B2" })
        {
            Noun = "FeedForward",
            Dimensions = new[] { $"{s}", $"{e}", $"{f}" },
            Summary = new[]
            {
                $"/// <summary><c>{formula}</c> row by row: x and y are <c>[batch, {s}, {e}]</c>, w1 is <c>[{e}, {f}]</c>,",
                $"/// b1 <c>[{f}]</c>, w2 <c>[{f}, {e}]</c>, b2 <c>[{e}]</c>, all row-major.</summary>",
            },
            Explanation = Explanation(plan),
            Run = (w, kernel, weights) => EmitRun(w, plan, kernel, weights),
        };
        return Write(
            plan, api, "FeedForward", (w, kernel) => EmitKernel(w, plan, kernel),
            new[] { ("w1", (System.Func<BranchPlan, ProductPlan>)(b => b.Hidden)), ("w2", b => b.FeedForwardOutput) },
            $"{api.WeightsType}.FromPacked({e}, {f}, Lanes, packedW1, b1.ToArray(), packedW2, b2.ToArray())");
    }

    private static IEnumerable<string> Explanation(KernelPlan plan)
    {
        ShapeSpec shape = plan.Shape;
        yield return $"Shape: SequenceLength {shape.SequenceLength}, EmbeddingDim {shape.EmbeddingDim}, FfnDim {shape.FfnDim}; " +
            $"y = {shape.Activation}(x·W1 + b1)·W2 + b2.";
        yield return Strategy(plan, b => b.FeedForward);
        yield return $"Register tiles (rows × vectors): x·W1 {TileDescription(plan, b => b.Hidden)}; h·W2 {TileDescription(plan, b => b.FeedForwardOutput)}.";
        yield return $"Activation: {plan.ActivationReason}.";
        yield return "Loop order: column panels outside, row tiles inside, so a panel of W stays in cache while every row of the chunk uses it.";
        yield return "Prepacked overload: PackFeedForward stores each column panel of W1 and W2 contiguously in the order the tile reads it; " +
            "FeedForward(x, weights, y) runs the same kernel body reading B from there, with the same multiply-adds in the same order " +
            "(bit-identical results).";
        yield return PlainArrays(plan, ("W1", b => b.Hidden), ("W2", b => b.FeedForwardOutput));
        yield return RowTail(plan);
        yield return $"Scheduling: {plan.FeedForwardSchedulingReason}. " + Threshold(plan, plan.FeedForwardFlopsPerSequence);
    }

    /// <summary>The scheduling part of a public FeedForward: one parallel call over row chunks, or two over column chunks.</summary>
    private static void EmitRun(SourceWriter w, KernelPlan plan, string kernel, string[] weights)
    {
        string run = $"{Spans.CompilerServices}.ParallelRunner.Run(";
        string type = $"global::{FileHeaderEmitter.KernelNamespace}.{kernel}";
        string[] schedule = { Times("batch", plan.FeedForwardChunksPerSequence), $"batch * {plan.FeedForwardFlopsPerSequence}L", "maxDegreeOfParallelism" };
        if (!plan.FeedForwardColumnSplit)
        {
            w.List(run, schedule.Prepend($"new {type}()").Append("x").Concat(weights).Append("y"), ");");
            return;
        }

        ShapeSpec shape = plan.Shape;
        w.Line("// Two phases over column chunks (see the remarks): hidden columns (the kernel's hiddenPhase true), then output columns;");
        w.Line("// the hidden rows of the whole call live in between. Both pass the call's flops, so the call goes parallel exactly when");
        w.Line("// a row-split call of the same work would.");
        w.Line($"global::System.Span<float> hidden = {Spans.CompilerServices}.CallScratch.Get({Times("batch", shape.SequenceLength * shape.FfnDim)});");
        w.List(run, schedule.Prepend($"new {type}(true)").Concat(new[] { "x", weights[0], weights[1], "default", "default", "hidden" }), ");");
        w.List(run, schedule.Prepend($"new {type}(false)").Concat(new[] { "hidden", weights[2], weights[3], "default", "default", "y" }), ");");
    }

    private static void EmitKernel(SourceWriter w, KernelPlan plan, string kernel)
    {
        ShapeSpec shape = plan.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim, f = shape.FfnDim;
        string summary = plan.FeedForwardColumnSplit
            ? $"The chunks of one phase of a {shape.Type.Name}.FeedForward call: chunk = (sequence, share of the column panels)."
            : $"The chunks of one {shape.Type.Name}.FeedForward call: chunk = (sequence, range of row tiles).";
        using (OpenKernel(w, kernel, summary))
        {
            if (plan.FeedForwardColumnSplit)
            {
                w.Line("private readonly bool _hiddenPhase;");
                w.Line();
                w.Line($"public {kernel}(bool hiddenPhase) => _hiddenPhase = hiddenPhase;");
                w.Line();
            }

            using (w.Block("public void Execute(in KernelBuffers buffers, int chunk)"))
            {
                if (plan.FeedForwardColumnSplit)
                {
                    int chunks = plan.FeedForwardChunksPerSequence;
                    w.Line($"int sequence = chunk / {chunks};");
                    w.Line($"int part = chunk % {chunks};");
                    EmitPanelScratch(w, plan, 0);
                    using (w.Block("if (_hiddenPhase)"))
                    {
                        w.Line($"ref float x = ref Unsafe.Add(ref buffers.Input0, (nint)sequence * {s * e});");
                        w.Line($"ref float hidden = ref Unsafe.Add(ref buffers.Output, (nint)sequence * {s * f});");
                        EmitLadder(w, plan, (arm, isa) =>
                        {
                            arm.Line($"Hidden_{Owner(plan, isa, b => b.Hidden)}(ref x, ref buffers.Input1, ref buffers.Input2, ref hidden, ref panelScratch, part);");
                            EmitActivationPass(arm, plan, isa);
                        });
                    }

                    using (w.Block("else"))
                    {
                        w.Line($"ref float hidden = ref Unsafe.Add(ref buffers.Input0, (nint)sequence * {s * f});");
                        w.Line($"ref float y = ref Unsafe.Add(ref buffers.Output, (nint)sequence * {s * e});");
                        EmitLadder(w, plan, (arm, isa) =>
                            arm.Line($"Output_{Owner(plan, isa, b => b.FeedForwardOutput)}(ref hidden, ref buffers.Input1, ref buffers.Input2, ref y, ref panelScratch, part);"));
                    }
                }
                else
                {
                    EmitRowRange(w, plan, plan.FeedForwardChunksPerSequence);
                    w.Line($"nint rowOffset = ((nint)sequence * {s} + firstTile * {plan.RowTile}) * {e};");
                    w.Line("ref float x = ref Unsafe.Add(ref buffers.Input0, rowOffset);");
                    w.Line("ref float y = ref Unsafe.Add(ref buffers.Output, rowOffset);");
                    int hiddenFloats = plan.FeedForwardPanelScratchOffset;
                    w.Line($"// Scratch: the hidden activations of this chunk's rows, at most {plan.FeedForwardMaxRowsPerChunk} × {f}" +
                        (PanelFloats(plan) > 0 ? ", then a panel of W1 or W2 copied on the fly." : "."));
                    w.Line($"ref float hidden = ref MemoryMarshal.GetReference(WorkerScratch.Get({hiddenFloats + PanelFloats(plan)}));");
                    EmitPanelScratch(w, plan, hiddenFloats);
                    EmitLadder(w, plan, (arm, isa) =>
                    {
                        arm.Line($"Hidden_{Owner(plan, isa, b => b.Hidden)}(ref x, ref buffers.Input1, ref buffers.Input2, ref hidden, ref panelScratch, fullTiles, hasTail);");
                        EmitActivationPass(arm, plan, isa);
                        arm.Line($"Output_{Owner(plan, isa, b => b.FeedForwardOutput)}(ref hidden, ref buffers.Input3, ref buffers.Input4, ref y, ref panelScratch, fullTiles, hasTail);");
                    });
                }
            }

            EmitBodies(w, plan, b => b.Hidden, branch => EmitHidden(w, plan, branch));
            EmitBodies(w, plan, b => b.FeedForwardOutput, branch => EmitOutput(w, plan, branch));
        }
    }

    private static int PanelFloats(KernelPlan plan) => plan.PanelScratchFloats(b => b.Hidden, b => b.FeedForwardOutput);

    /// <summary>
    /// <c>panelScratch</c>: the worker's scratch for panels of W1 and W2 copied on the fly, <paramref name="offset"/> floats
    /// into the buffer the chunk already holds (a second WorkerScratch.Get would return the same memory), or a dummy ref
    /// when the plan copies none.
    /// </summary>
    private static void EmitPanelScratch(SourceWriter w, KernelPlan plan, int offset)
    {
        int floats = PanelFloats(plan);
        if (floats == 0)
        {
            w.Line("ref float panelScratch = ref Unsafe.NullRef<float>(); // B is read in place (see the remarks)");
        }
        else if (offset == 0)
        {
            w.Line($"ref float panelScratch = ref MemoryMarshal.GetReference(WorkerScratch.Get(TWeights.IsPacked ? 0 : {floats}));");
        }
        else
        {
            w.Line($"ref float panelScratch = ref Unsafe.Add(ref hidden, {offset});");
        }
    }

    private static string Owner(KernelPlan plan, IsaBranch isa, System.Func<BranchPlan, ProductPlan> product) => Suffix(plan.BodyOwner(isa, product));

    /// <summary>The smooth activations' pass over what the branch's x·W1 just wrote (see the plan's activation reason).</summary>
    private static void EmitActivationPass(SourceWriter w, KernelPlan plan, IsaBranch isa)
    {
        if (!plan.SeparateActivationPass)
        {
            return;
        }

        ShapeSpec shape = plan.Shape;
        string pass = $"ActivationPass.{isa switch { IsaBranch.Vector512 => "Apply512", IsaBranch.Vector256 => "Apply256", IsaBranch.Vector128 => "Apply128", _ => "ApplyScalar" }}<{shape.Activation}Operator>";
        ProductPlan hidden = plan.Branch(isa).Hidden;
        if (hidden.Share is not { } share)
        {
            string rows = plan.TailRows > 0 ? $"fullTiles * {plan.RowTile} + (hasTail ? {plan.TailRows} : 0)" : $"fullTiles * {plan.RowTile}";
            w.Line($"{pass}(MemoryMarshal.CreateSpan(ref hidden, ({rows}) * {shape.FfnDim}));");
            return;
        }

        // The chunk's own columns: its full panels, and through the last column if it owns the remainder.
        ColumnLayout layout = hidden.Layout;
        string first = share.FullPanels == 0 ? "0" : $"RowPartition.Start({share.FullPanels}, {share.Chunks}, part) * {layout.PanelWidth}";
        string end = share.FullPanels == 0 ? "0" : $"(RowPartition.Start({share.FullPanels}, {share.Chunks}, part) + RowPartition.Count({share.FullPanels}, {share.Chunks}, part)) * {layout.PanelWidth}";
        w.Line($"int firstColumn = {first};");
        w.Line($"int columns = (part == {share.RemainderOwner} ? {shape.FfnDim} : {end}) - firstColumn;");
        using (w.Block($"for (int row = 0; row < {shape.SequenceLength}; row++)"))
        {
            w.Line($"{pass}(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref hidden, row * {shape.FfnDim} + firstColumn), columns));");
        }
    }

    private static void EmitHidden(SourceWriter w, KernelPlan plan, BranchPlan branch)
    {
        ShapeSpec shape = plan.Shape;
        ProductSpec product = Affine("x", shape.EmbeddingDim, "w1", "hidden", branch.Hidden, "b1", plan.SeparateActivationPass ? null : $"{shape.Activation}Operator");
        product.PanelScratch = "panelScratch";
        string act = plan.SeparateActivationPass ? "x·W1 + b1 (the activation follows as a pass)" : $"{shape.Activation}(x·W1 + b1)";
        EmitProductMethod(w, plan, "Hidden", branch, $"hidden = {act}", "ref float x, ref float w1, ref float b1, ref float hidden, ref float panelScratch", shape.FfnDim, product);
    }

    private static void EmitOutput(SourceWriter w, KernelPlan plan, BranchPlan branch)
    {
        ShapeSpec shape = plan.Shape;
        ProductSpec product = Affine("hidden", shape.FfnDim, "w2", "y", branch.FeedForwardOutput, "b2");
        product.PanelScratch = "panelScratch";
        EmitProductMethod(w, plan, "Output", branch, "y = hidden·W2 + b2", "ref float hidden, ref float w2, ref float b2, ref float y, ref float panelScratch", shape.EmbeddingDim, product);
    }

    private static void EmitProductMethod(SourceWriter w, KernelPlan plan, string name, BranchPlan branch, string what, string refs, int columns, ProductSpec product)
    {
        string suffix = Suffix(branch.Isa);
        if (product.Plan.Share is not null)
        {
            w.Line($"/// <summary>{what} for all {plan.Shape.SequenceLength} rows and the chunk's share of the {columns} columns.</summary>");
            using (w.Block($"private static void {name}_{suffix}({refs}, int part)"))
            {
                EmitAllRows(w, plan);
                MatMulEmitter.EmitRowTiles(w, product, plan.RowTile, plan.TailRows);
            }

            return;
        }

        w.Line($"/// <summary>{what} for the chunk's rows, {columns} columns.</summary>");
        using (w.Block($"private static void {name}_{suffix}({refs}, int fullTiles, bool hasTail)"))
        {
            MatMulEmitter.EmitRowTiles(w, product, plan.RowTile, plan.TailRows);
        }
    }
}
