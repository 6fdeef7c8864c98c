using static FixedShapeAttention.Generators.Emitters.KernelEmitterCommon;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// Emits the training half of attention into the attention file: <c>AttentionForTraining</c> (the forward kernel, also
/// keeping each row's log-sum-exp) and <c>AttentionBackward</c>, flash-style: per (sequence, head) it recomputes
/// P = e^(S/√d − LSE) (as 2^(S·log₂e/√d − LSE·log₂e), the forward's base-2 exp) from the saved log-sum-exps instead of storing P, forms dS = P ∘ (dP − rowsum(dO ∘ O)) row by row
/// (<c>AttentionGradientRow</c>), and runs dQ = dS·K, dK = dSᵀ·Q and dV = Pᵀ·dO as register-tiled products. S and dP
/// reuse the forward kernel's Q·Kᵀ bodies; dQ has the plan of the forward's P·V; dK and dV read dS and P transposed.
/// </summary>
internal static class AttentionBackwardEmitter
{
    public static void EmitPublicApi(SourceWriter w, KernelPlan plan, string forwardKernel, string backwardKernel)
    {
        ShapeSpec shape = plan.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim, heads = shape.Heads;
        string dimensions = $"{s}, {e}, {heads}";
        string forwardDimensions = shape.KeyValueHeads == heads ? dimensions : $"{dimensions}, {shape.KeyValueDim}";
        string[] forwardRun =
        {
            $"new global::{FileHeaderEmitter.KernelNamespace}.{forwardKernel}()", Times("batch", heads * plan.AttentionChunksPerHead),
            $"batch * {plan.AttentionFlopsPerSequence}L", "maxDegreeOfParallelism", "q", "k", "v", "default", "default", "default", "output", "logSumExp", "default",
        };

        string[] lseDoc =
        {
            $"/// <summary>Attention as <c>Attention</c>, for training: also writes each score row's <c>log Σ_j e^(S_ij/√{shape.HeadDim})</c> into",
            $"/// <paramref name=\"logSumExp\"/>, <c>[batch, {heads}, {s}]</c>, which <c>AttentionBackward</c> reads to recompute the probabilities.</summary>",
            "/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape, or an output overlaps another span.</exception>",
        };
        EmitOverloadPair(
            w,
            "AttentionForTraining",
            new[] { (Spans.ReadOnly, "q"), (Spans.ReadOnly, "k"), (Spans.ReadOnly, "v"), (Spans.Writable, "output"), (Spans.Writable, "logSumExp") },
            lseDoc,
            () =>
            {
                w.Line($"int batch = {Spans.CompilerServices}.KernelArguments.ValidateAttentionForTraining(q, k, v, output, logSumExp, {forwardDimensions});");
                w.List($"{Spans.CompilerServices}.ParallelRunner.Run(", forwardRun.Append("default"), ");");
            });

        w.Line();
        EmitOverloadPair(
            w,
            "AttentionForTraining",
            new[] { (Spans.ReadOnly, "q"), (Spans.ReadOnly, "k"), (Spans.ReadOnly, "v"), (Spans.Counts, "keyCounts"), (Spans.Writable, "output"), (Spans.Writable, "logSumExp") },
            new[]
            {
                "/// <summary><c>AttentionForTraining</c> with a key-padding mask: sequence i attends to its first <c>keyCounts[i]</c> keys.</summary>",
                $"/// <exception cref=\"global::System.ArgumentException\">As the unmasked overload, or a count is outside [0, {s}].</exception>",
            },
            () =>
            {
                w.Line($"int batch = {Spans.CompilerServices}.KernelArguments.ValidateAttentionForTraining(q, k, v, output, logSumExp, {forwardDimensions});");
                w.Line($"{Spans.CompilerServices}.KernelArguments.ValidateCounts(keyCounts, \"keyCounts\", batch, {s});");
                w.List($"{Spans.CompilerServices}.ParallelRunner.Run(", forwardRun.Append("keyCounts"), ");");
            });

        string[] backwardRun =
        {
            $"new global::{FileHeaderEmitter.KernelNamespace}.{backwardKernel}()", Times("batch", heads), $"batch * {plan.AttentionBackward.FlopsPerSequence}L",
            "maxDegreeOfParallelism", "q", "k", "v", "output", "outputGradient", "logSumExp", "queryGradient", "keyGradient", "valueGradient",
        };
        (string, string)[] backwardParameters =
        {
            (Spans.ReadOnly, "q"), (Spans.ReadOnly, "k"), (Spans.ReadOnly, "v"), (Spans.ReadOnly, "output"), (Spans.ReadOnly, "logSumExp"),
            (Spans.ReadOnly, "outputGradient"), (Spans.Writable, "queryGradient"), (Spans.Writable, "keyGradient"), (Spans.Writable, "valueGradient"),
        };
        void Validate() => w.List(
            $"int batch = {Spans.CompilerServices}.KernelArguments.ValidateAttentionBackward(",
            new[] { "q", "k", "v", "output", "logSumExp", "outputGradient", "queryGradient", "keyGradient", "valueGradient", dimensions },
            ");");

        w.Line();
        EmitOverloadPair(
            w,
            "AttentionBackward",
            backwardParameters,
            new[]
            {
                "/// <summary>The gradients of Q, K and V (overwritten) from <paramref name=\"outputGradient\"/>, with the inputs, the output and the",
                "/// log-sum-exps of <c>AttentionForTraining</c>.</summary>",
            }.Concat(Remarks(w, Explanation(plan))).Concat(new[]
            {
                "/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape, or a gradient overlaps another span.</exception>",
            }).ToArray(),
            () =>
            {
                if (!plan.AttentionBackwardGenerated)
                {
                    EmitNotGenerated(w, plan);
                    return;
                }

                Validate();
                EmitSplitPath(w, plan, backwardKernel, "default");
                w.List($"{Spans.CompilerServices}.ParallelRunner.Run(", backwardRun.Append("default"), ");");
            });

        w.Line();
        EmitOverloadPair(
            w,
            "AttentionBackward",
            backwardParameters.Take(3).Append((Spans.Counts, "keyCounts")).Concat(backwardParameters.Skip(3)).ToArray(),
            new[]
            {
                "/// <summary><c>AttentionBackward</c> with the key-padding mask the forward pass used: masked keys get zero gradients.</summary>",
                $"/// <exception cref=\"global::System.ArgumentException\">As the unmasked overload, or a count is outside [0, {s}].</exception>",
            },
            () =>
            {
                if (!plan.AttentionBackwardGenerated)
                {
                    EmitNotGenerated(w, plan);
                    return;
                }

                Validate();
                w.Line($"{Spans.CompilerServices}.KernelArguments.ValidateCounts(keyCounts, \"keyCounts\", batch, {s});");
                EmitSplitPath(w, plan, backwardKernel, "keyCounts");
                w.List($"{Spans.CompilerServices}.ParallelRunner.Run(", backwardRun.Append("keyCounts"), ");");
            });
    }

    /// <summary>A backward pass the plan does not generate (grouped-query attention): it throws before touching any span.</summary>
    private static void EmitNotGenerated(SourceWriter w, KernelPlan plan)
    {
        w.Line($"// {plan.Shape.KeyValueHeads} key/value heads for {plan.Shape.Heads} query heads: see the plan's note on grouped-query attention.");
        w.Line("throw new global::System.NotSupportedException(");
        w.Line($"    \"AttentionBackward is not generated for grouped-query attention ({plan.Shape.KeyValueHeads} key/value heads, {plan.Shape.Heads} query heads): \" +");
        w.Line("    \"dK and dV would sum over each group's query heads; train on the runtime-shape kernels.\");");
    }

    /// <summary>
    /// The two-phase path for calls with fewer (sequence, head) pairs than threads: P and dS of every pair into a buffer
    /// the call's chunks share, then dQ, dK and dV from it, each phase split into blocks of rows.
    /// </summary>
    private static void EmitSplitPath(SourceWriter w, KernelPlan plan, string backwardKernel, string counts)
    {
        ShapeSpec shape = plan.Shape;
        AttentionBackwardPlan backward = plan.AttentionBackward;
        int heads = shape.Heads, parts = backward.RowParts;
        // S and dP are two of the five products, dQ, dK and dV the other three.
        long scoresFlops = backward.FlopsPerSequence * 2 / 5, productsFlops = backward.FlopsPerSequence - scoresFlops;
        w.Line($"long sharedFloats = (long)batch * {(long)heads * backward.SharedFloatsPerHead}L;");
        w.Line($"bool fewerPairsThanThreads = batch * {heads} < global::FixedShapeAttention.KernelParallelism.Resolve(maxDegreeOfParallelism);");
        w.Line($"bool runsInParallel = batch * {backward.FlopsPerSequence}L >= global::FixedShapeAttention.KernelParallelism.ParallelThresholdFlops;");
        using (w.Block("if (fewerPairsThanThreads && runsInParallel && sharedFloats <= global::System.Array.MaxLength)"))
        {
            w.Line("// Fewer (sequence, head) pairs than threads: two phases over a buffer the call's chunks share.");
            w.Line($"global::System.Span<float> shared = {Spans.CompilerServices}.CallScratch.Get((int)sharedFloats);");
            w.List(
                $"{Spans.CompilerServices}.ParallelRunner.Run(",
                new[]
                {
                    $"new global::{FileHeaderEmitter.KernelNamespace}.{backwardKernel}Scores()", Times("batch", heads * parts), $"batch * {scoresFlops}L",
                    "maxDegreeOfParallelism", "q", "k", "v", "output", "outputGradient", "logSumExp", "shared", "default", "default", counts,
                },
                ");");
            w.List(
                $"{Spans.CompilerServices}.ParallelRunner.Run(",
                new[]
                {
                    $"new global::{FileHeaderEmitter.KernelNamespace}.{backwardKernel}Products()", Times("batch", heads * 3 * parts), $"batch * {productsFlops}L",
                    "maxDegreeOfParallelism", "q", "k", "shared", "default", "outputGradient", "default", "queryGradient", "keyGradient", "valueGradient", counts,
                },
                ");");
            w.Line("return;");
        }

        w.Line();
    }

    private static IEnumerable<string> Explanation(KernelPlan plan)
    {
        ShapeSpec shape = plan.Shape;
        yield return "Flash-style: P = e^(S/√d − LSE) = 2^(S·log₂e/√d − LSE·log₂e) is recomputed by the forward's base-2 exp from the saved log-sum-exps (no T × T matrix kept between the passes), " +
            "dS = P ∘ (dP − rowsum(dO ∘ O))/√d row by row, then dQ = dS·K, dK = dSᵀ·Q, dV = Pᵀ·dO.";
        yield return $"Register tiles (rows × vectors): S and dP {TileDescription(plan, b => b.Scores)}; dQ, dK and dV {TileDescription(plan, b => b.AttentionOutput)}.";
        yield return shape.Causal
            ? "Causal: S and dP skip the blocks above the diagonal (each column panel's row tiles start at the first that reaches its first key" +
              (plan.Branches.Any(b => b.Scores.DiagonalSlots) ? $", and a tile ending inside a panel stops at its last row's vector: {AttentionEmitter.DiagonalBranches(plan)}" : "") + "); " +
              "dQ reads keys 0..i of row i; dK and dV start each key row's sum at its own position (the probabilities above the diagonal are 0)."
            : "Key-padding mask (the keyCounts overload): masked keys get P = dS = 0, so their dK and dV rows are 0.";
        yield return RowTail(plan);
        yield return $"Scheduling: {plan.AttentionBackward.Scheduling}; {plan.AttentionBackward.SplitReason}; " + Threshold(plan, plan.AttentionBackward.FlopsPerSequence);
    }

    public static void EmitKernel(SourceWriter w, KernelPlan plan, string forwardKernel, string kernel)
    {
        ShapeSpec shape = plan.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim, d = shape.HeadDim, stride = plan.ScoreStride;
        w.Line($"/// <summary>The chunks of one {shape.Type.Name}.AttentionBackward call: chunk = (sequence, head).</summary>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        using (w.Block($"file readonly struct {kernel} : IChunkKernel"))
        {
            w.Line($"private const float Scale = {IsaSyntax.FloatLiteral((float)(1.0 / Math.Sqrt(d)))}; // 1/√{d}");
            w.Line();
            using (w.Block("public void Execute(in KernelBuffers buffers, int chunk)"))
            {
                w.Line($"int sequence = chunk / {shape.Heads};");
                w.Line($"int head = chunk % {shape.Heads};");
                w.Line($"int keyCount = buffers.SequenceCount(sequence, {s});");
                EmitHeadInputs(w, plan);
                w.Line("ref float dQ = ref Unsafe.Add(ref buffers.Output, headOffset);");
                w.Line("ref float dK = ref Unsafe.Add(ref buffers.Output1, headOffset);");
                w.Line("ref float dV = ref Unsafe.Add(ref buffers.Output2, headOffset);");
                w.Line($"// Scratch: Kᵀ and Vᵀ of this head ({d} × {stride} each), then P and dS ({s} × {stride} each).");
                w.Line($"ref float scratch = ref MemoryMarshal.GetReference(WorkerScratch.Get({plan.AttentionBackward.ScratchFloats}));");
                EmitLadder(w, plan, (arm, isa) => arm.List(
                    $"Head_{Suffix(plan.BodyOwner(isa, HeadBody))}(",
                    new[]
                    {
                        "ref q", "ref k", "ref v", "ref o", "ref dO", "ref lse", "ref dQ",
                        "ref dK", "ref dV", "ref scratch", "keyCount",
                    },
                    ");"));
            }

            foreach (IsaBranch owner in plan.BodyOwners(HeadBody))
            {
                w.Line();
                EmitHead(w, plan, plan.Branch(owner), forwardKernel);
            }

            foreach (IsaBranch owner in plan.BodyOwners(b => b.AttentionOutput))
            {
                w.Line();
                EmitQueryGradient(w, plan, plan.Branch(owner));
                w.Line();
                EmitKeyGradient(w, plan, plan.Branch(owner));
            }
        }
    }

    /// <summary>What a branch's head driver calls: equal products, equal driver.</summary>
    private static (ProductPlan, ProductPlan) HeadBody(BranchPlan b) => (b.Scores, b.AttentionOutput);

    private static void EmitHead(SourceWriter w, KernelPlan plan, BranchPlan branch, string forwardKernel)
    {
        ShapeSpec shape = plan.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim, d = shape.HeadDim, stride = plan.ScoreStride;
        string scores = $"{forwardKernel}.Scores_{Suffix(plan.BodyOwner(branch.Isa, b => b.Scores))}";
        string gradientSuffix = Suffix(plan.BodyOwner(branch.Isa, b => b.AttentionOutput));
        string tiles = $"{plan.FullRowTiles}, {(plan.TailRows > 0 ? "true" : "false")}{(shape.Causal ? ", 0" : "")}";
        int keysRead = (s - 1) * e + d;

        w.Line("/// <summary>dQ, dK and dV of one head.</summary>");
        w.List(
            $"private static void Head_{Suffix(branch.Isa)}(",
            new[]
            {
                "ref float qHead", "ref float kHead", "ref float vHead", "ref float outputHead", "ref float outputGradientHead", "ref float logSumExp",
                "ref float queryGradientHead", "ref float keyGradientHead", "ref float valueGradientHead", "ref float scratch", "int keyCount",
            },
            ")");
        using (w.Block())
        {
            w.Line("ref float keysT = ref scratch;");
            w.Line($"ref float valuesT = ref Unsafe.Add(ref scratch, {d * stride});");
            w.Line($"ref float probabilities = ref Unsafe.Add(ref scratch, {2 * d * stride});");
            w.Line($"ref float scoreGradients = ref Unsafe.Add(ref scratch, {(2 * d + s) * stride});");
            w.Line($"// Kᵀ and Vᵀ are the B operands of S = Q·Kᵀ and dP = dO·Vᵀ, zero-padded to {stride} columns as in the forward pass.");
            w.Line($"KeyPacking.PackTransposed(MemoryMarshal.CreateReadOnlySpan(ref kHead, {keysRead}), {e}, {s}, {d}, MemoryMarshal.CreateSpan(ref keysT, {d * stride}), {stride});");
            w.Line($"KeyPacking.PackTransposed(MemoryMarshal.CreateReadOnlySpan(ref vHead, {keysRead}), {e}, {s}, {d}, MemoryMarshal.CreateSpan(ref valuesT, {d * stride}), {stride});");
            w.Line($"{scores}(ref qHead, ref keysT, ref probabilities, {tiles});");
            w.Line($"{scores}(ref outputGradientHead, ref valuesT, ref scoreGradients, {tiles});");
            EmitRowPass(w, plan, "0", $"{s}", "probabilities", "scoreGradients", "logSumExp", "outputHead", "outputGradientHead");

            w.Line($"QueryGradient_{gradientSuffix}(ref scoreGradients, ref kHead, ref queryGradientHead, {tiles});");
            w.Line($"KeyGradient_{gradientSuffix}(ref scoreGradients, ref qHead, ref keyGradientHead, {tiles});");
            w.Line($"KeyGradient_{gradientSuffix}(ref probabilities, ref outputGradientHead, ref valueGradientHead, {tiles});");
        }
    }

    /// <summary>The refs of a chunk's head in the backward call's inputs (Q, K, V, O, dO) and its rows' log-sum-exps.</summary>
    private static void EmitHeadInputs(SourceWriter w, KernelPlan plan)
    {
        ShapeSpec shape = plan.Shape;
        int s = shape.SequenceLength;
        w.Line($"nint headOffset = (nint)sequence * {s * shape.EmbeddingDim} + head * {shape.HeadDim};");
        w.Line("ref float q = ref Unsafe.Add(ref buffers.Input0, headOffset);");
        w.Line("ref float k = ref Unsafe.Add(ref buffers.Input1, headOffset);");
        w.Line("ref float v = ref Unsafe.Add(ref buffers.Input2, headOffset);");
        w.Line("ref float o = ref Unsafe.Add(ref buffers.Input3, headOffset);");
        w.Line("ref float dO = ref Unsafe.Add(ref buffers.Input4, headOffset);");
        w.Line($"ref float lse = ref Unsafe.Add(ref buffers.Input5, ((nint)sequence * {shape.Heads} + head) * {s});");
    }

    /// <summary>P and dS of rows [first, end) in place over S and dP (<c>AttentionGradientRow</c>): the middle of the backward pass.</summary>
    private static void EmitRowPass(SourceWriter w, KernelPlan plan, string first, string end, string p, string dS, string lse, string o, string dO)
    {
        ShapeSpec shape = plan.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim, d = shape.HeadDim, stride = plan.ScoreStride, rowsRead = (s - 1) * e + d;
        w.List(
            "AttentionGradientRow.WriteRows(",
            new[]
            {
                $"MemoryMarshal.CreateSpan(ref {p}, {s * stride})",
                $"MemoryMarshal.CreateSpan(ref {dS}, {s * stride})",
                $"{stride}",
                $"MemoryMarshal.CreateReadOnlySpan(ref {lse}, {s})",
                $"MemoryMarshal.CreateReadOnlySpan(ref {o}, {rowsRead})",
                $"MemoryMarshal.CreateReadOnlySpan(ref {dO}, {rowsRead})",
                $"{e}",
                $"{d}",
                "Scale",
                first,
                first == "0" ? end : $"{end} - {first}",
                "keyCount",
                shape.Causal ? "true" : "false",
            },
            ");");
    }

    /// <summary>A chunk's block of row tiles: part <c>part</c> of the shape's row tiles cut into the plan's row parts.</summary>
    private static void EmitRowPart(SourceWriter w, KernelPlan plan)
    {
        int parts = plan.AttentionBackward.RowParts;
        w.Line($"int firstTile = RowPartition.Start({plan.RowTiles}, {parts}, part);");
        w.Line($"int tileCount = RowPartition.Count({plan.RowTiles}, {parts}, part);");
        w.Line($"int fullTiles = Math.Min(firstTile + tileCount, {plan.FullRowTiles}) - firstTile;");
        w.Line($"bool hasTail = firstTile + tileCount > {plan.FullRowTiles};");
        w.Line($"int firstRow = firstTile * {plan.RowTile};");
    }

    /// <summary>
    /// The two phases of a call with fewer (sequence, head) pairs than threads. Scores: chunk = (sequence, head, row part),
    /// S and dP of its rows by the forward kernel's bodies, then the row pass, into the shared buffer. Products: chunk =
    /// (sequence, head, product, row part), dQ (query rows), dK or dV (key rows) by the one-phase kernel's bodies.
    /// </summary>
    public static void EmitSplitKernels(SourceWriter w, KernelPlan plan, string forwardKernel, string backwardKernel)
    {
        ShapeSpec shape = plan.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim, d = shape.HeadDim, stride = plan.ScoreStride, heads = shape.Heads;
        int parts = plan.AttentionBackward.RowParts, shared = plan.AttentionBackward.SharedFloatsPerHead, keysRead = (s - 1) * e + d;
        string causal = shape.Causal ? ", firstRow" : "";

        w.Line($"/// <summary>Phase 1 of a split {shape.Type.Name}.AttentionBackward call: chunk = (sequence, head, row part), P and dS into the shared buffer.</summary>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        using (w.Block($"file readonly struct {backwardKernel}Scores : IChunkKernel"))
        {
            w.Line($"private const float Scale = {IsaSyntax.FloatLiteral((float)(1.0 / Math.Sqrt(d)))}; // 1/√{d}");
            w.Line();
            using (w.Block("public void Execute(in KernelBuffers buffers, int chunk)"))
            {
                w.Line($"int sequence = chunk / {heads * parts};");
                w.Line($"int head = chunk / {parts} % {heads};");
                w.Line($"int part = chunk % {parts};");
                EmitRowPart(w, plan);
                w.Line($"int rowEnd = firstRow + fullTiles * {plan.RowTile}{(plan.TailRows > 0 ? $" + (hasTail ? {plan.TailRows} : 0)" : "")};");
                w.Line($"int keyCount = buffers.SequenceCount(sequence, {s});");
                EmitHeadInputs(w, plan);
                w.Line($"ref float p = ref Unsafe.Add(ref buffers.Output, ((nint)sequence * {heads} + head) * {shared});");
                w.Line($"ref float dS = ref Unsafe.Add(ref p, {s * stride});");
                w.Line($"ref float keysT = ref MemoryMarshal.GetReference(WorkerScratch.Get({2 * d * stride}));");
                w.Line($"ref float valuesT = ref Unsafe.Add(ref keysT, {d * stride});");
                w.Line($"KeyPacking.PackTransposed(MemoryMarshal.CreateReadOnlySpan(ref k, {keysRead}), {e}, {s}, {d}, MemoryMarshal.CreateSpan(ref keysT, {d * stride}), {stride});");
                w.Line($"KeyPacking.PackTransposed(MemoryMarshal.CreateReadOnlySpan(ref v, {keysRead}), {e}, {s}, {d}, MemoryMarshal.CreateSpan(ref valuesT, {d * stride}), {stride});");
                w.Line($"ref float qRows = ref Unsafe.Add(ref q, firstRow * {e});");
                w.Line($"ref float dORows = ref Unsafe.Add(ref dO, firstRow * {e});");
                w.Line($"ref float pRows = ref Unsafe.Add(ref p, firstRow * {stride});");
                w.Line($"ref float dSRows = ref Unsafe.Add(ref dS, firstRow * {stride});");
                EmitLadder(w, plan, (arm, isa) =>
                {
                    string scores = $"{forwardKernel}.Scores_{Suffix(plan.BodyOwner(isa, b => b.Scores))}";
                    arm.List($"{scores}(", new[] { "ref qRows", "ref keysT", "ref pRows", "fullTiles", $"hasTail{causal}" }, ");");
                    arm.List($"{scores}(", new[] { "ref dORows", "ref valuesT", "ref dSRows", "fullTiles", $"hasTail{causal}" }, ");");
                });
                EmitRowPass(w, plan, "firstRow", "rowEnd", "p", "dS", "lse", "o", "dO");
            }
        }

        w.Line();
        w.Line($"/// <summary>Phase 2 of a split {shape.Type.Name}.AttentionBackward call: chunk = (sequence, head, product, row part), dQ, dK or dV of its rows.</summary>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        using (w.Block($"file readonly struct {backwardKernel}Products : IChunkKernel"))
        {
            using (w.Block("public void Execute(in KernelBuffers buffers, int chunk)"))
            {
                w.Line($"int sequence = chunk / {heads * 3 * parts};");
                w.Line($"int head = chunk / {3 * parts} % {heads};");
                w.Line($"int product = chunk / {parts} % 3;");
                w.Line($"int part = chunk % {parts};");
                EmitRowPart(w, plan);
                w.Line($"nint headOffset = (nint)sequence * {s * e} + head * {d};");
                w.Line("ref float q = ref Unsafe.Add(ref buffers.Input0, headOffset);");
                w.Line("ref float k = ref Unsafe.Add(ref buffers.Input1, headOffset);");
                w.Line($"ref float p = ref Unsafe.Add(ref buffers.Input2, ((nint)sequence * {heads} + head) * {shared});");
                w.Line($"ref float dS = ref Unsafe.Add(ref p, {s * stride});");
                w.Line("ref float dO = ref Unsafe.Add(ref buffers.Input4, headOffset);");
                w.Line("ref float dQ = ref Unsafe.Add(ref buffers.Output, headOffset);");
                w.Line("ref float dK = ref Unsafe.Add(ref buffers.Output1, headOffset);");
                w.Line("ref float dV = ref Unsafe.Add(ref buffers.Output2, headOffset);");
                w.Line("// dQ reads the part's rows of dS; dK and dV read its columns of dS and P (the products read them transposed).");
                w.Line($"ref float dSRows = ref Unsafe.Add(ref dS, firstRow * {stride});");
                w.Line("ref float dSColumns = ref Unsafe.Add(ref dS, firstRow);");
                w.Line("ref float pColumns = ref Unsafe.Add(ref p, firstRow);");
                w.Line($"ref float dQRows = ref Unsafe.Add(ref dQ, firstRow * {e});");
                w.Line($"ref float dKRows = ref Unsafe.Add(ref dK, firstRow * {e});");
                w.Line($"ref float dVRows = ref Unsafe.Add(ref dV, firstRow * {e});");
                EmitLadder(w, plan, (arm, isa) =>
                {
                    string suffix = Suffix(plan.BodyOwner(isa, b => b.AttentionOutput));
                    using (arm.Block("if (product == 0)"))
                    {
                        arm.List($"{backwardKernel}.QueryGradient_{suffix}(", new[] { "ref dSRows", "ref k", "ref dQRows", "fullTiles", $"hasTail{causal}" }, ");");
                    }

                    using (arm.Block("else if (product == 1)"))
                    {
                        arm.List($"{backwardKernel}.KeyGradient_{suffix}(", new[] { "ref dSColumns", "ref q", "ref dKRows", "fullTiles", $"hasTail{causal}" }, ");");
                    }

                    using (arm.Block("else"))
                    {
                        arm.List($"{backwardKernel}.KeyGradient_{suffix}(", new[] { "ref pColumns", "ref dO", "ref dVRows", "fullTiles", $"hasTail{causal}" }, ");");
                    }
                });
            }
        }
    }

    private static void EmitQueryGradient(SourceWriter w, KernelPlan plan, BranchPlan branch)
    {
        ShapeSpec shape = plan.Shape;
        var product = new ProductSpec("dS", plan.ScoreStride, "keys", shape.EmbeddingDim, "dQ", shape.EmbeddingDim, branch.AttentionOutput)
        {
            CausalRowStart = shape.Causal ? "rowStart" : null,
            RowStartOrigin = shape.Causal ? "firstRow" : null,
        };
        w.Line($"/// <summary>dQ = dS·K of the head's rows ({shape.HeadDim} columns).</summary>");
        string causal = shape.Causal ? ", int firstRow" : "";
        using (w.Block($"internal static void QueryGradient_{Suffix(branch.Isa)}(ref float dS, ref float keys, ref float dQ, int fullTiles, bool hasTail{causal})"))
        {
            MatMulEmitter.EmitRowTiles(w, product, plan.RowTile, plan.TailRows);
        }
    }

    private static void EmitKeyGradient(SourceWriter w, KernelPlan plan, BranchPlan branch)
    {
        ShapeSpec shape = plan.Shape;
        // Row j of the product is column j of the stored T × T matrix: A's rows are 1 apart and its k steps a stored row apart.
        var product = new ProductSpec("weights", 1, "rows", shape.EmbeddingDim, "gradient", shape.EmbeddingDim, branch.AttentionOutput)
        {
            ADepthStride = plan.ScoreStride,
            DepthFromRowStart = shape.Causal ? "rowStart" : null,
            RowStartOrigin = shape.Causal ? "firstRow" : null,
        };
        w.Line($"/// <summary>dK = dSᵀ·Q or dV = Pᵀ·dO: row j sums weight (i, j) times row i over the queries i{(shape.Causal ? " ≥ j" : "")}.</summary>");
        string causal = shape.Causal ? ", int firstRow" : "";
        using (w.Block($"internal static void KeyGradient_{Suffix(branch.Isa)}(ref float weights, ref float rows, ref float gradient, int fullTiles, bool hasTail{causal})"))
        {
            MatMulEmitter.EmitRowTiles(w, product, plan.RowTile, plan.TailRows);
        }
    }
}
