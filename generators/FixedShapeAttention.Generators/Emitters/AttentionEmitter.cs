using static FixedShapeAttention.Generators.Emitters.KernelEmitterCommon;
using FixedShapeAttention.Kernels;
using FixedShapeAttention.Generators.Planning;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// Emits <c>Attention</c>: per (sequence, head, row tile) Q·Kᵀ scaled by log₂e/√HeadDim (base-2 scores,
/// <see cref="SoftmaxContract"/>) into a score tile, a row softmax, then P·V into the output, all with constant bounds
/// from the <see cref="KernelPlan"/>.
/// </summary>
internal static class AttentionEmitter
{
    public static string Emit(KernelPlan plan)
    {
        string kernel = plan.Shape.Type.Name + "AttentionKernel";
        string backwardKernel = plan.Shape.Type.Name + "AttentionBackwardKernel";
        return FileHeaderEmitter.Write(
            plan.Shape.Type,
            w =>
            {
                EmitPublicApi(w, plan, kernel);
                w.Line();
                AttentionBackwardEmitter.EmitPublicApi(w, plan, kernel, backwardKernel);
                if (plan.Decoding is not null)
                {
                    w.Line();
                    DecodingEmitter.EmitPublicApi(w, plan, kernel);
                }
            },
            w =>
            {
                EmitKernel(w, plan, kernel);
                if (plan.AttentionBackwardGenerated)
                {
                    w.Line();
                    AttentionBackwardEmitter.EmitKernel(w, plan, kernel, backwardKernel);
                    w.Line();
                    AttentionBackwardEmitter.EmitSplitKernels(w, plan, kernel, backwardKernel);
                }

                if (plan.Decoding is not null)
                {
                    w.Line();
                    DecodingEmitter.EmitKernels(w, plan, kernel);
                }
            });
    }

    private static IEnumerable<string> Explanation(KernelPlan plan)
    {
        ShapeSpec shape = plan.Shape;
        yield return $"Shape: SequenceLength {shape.SequenceLength}, EmbeddingDim {shape.EmbeddingDim}, Heads {shape.Heads} (HeadDim {shape.HeadDim}), " +
            $"{(shape.Causal ? "causal (query i sees keys 0..i)" : "not causal")}.";
        if (shape.KeyValueHeads != shape.Heads)
        {
            yield return $"Key/value heads: {plan.GroupedQuery}.";
        }

        yield return Strategy(plan, b => b.Attention);
        yield return $"Register tiles (rows × vectors): Q·Kᵀ {TileDescription(plan, b => b.Scores)}; P·V {TileDescription(plan, b => b.AttentionOutput)}.";
        yield return "Key-padding mask (the keyCounts overload): keys from keyCount on get -inf before softmax, so weight exactly 0.";
        if (shape.Causal)
        {
            yield return "Causal Q·Kᵀ skips the column panels after a chunk's last query and, per panel, the row tiles before its first key" +
                (plan.Branches.Any(b => b.Scores.DiagonalSlots)
                    ? $"; a row tile that ends inside a panel computes only the vectors up to its last row's key ({DiagonalBranches(plan)})."
                    : ".");
        }

        yield return "Loop order: per chunk, Kᵀ packed once, then " +
            (plan.AttentionBlocked ? $"per block of {plan.AttentionBlockTiles * plan.RowTile} rows (so the block's scores stay in L2), " : "") +
            "Q·Kᵀ for all the rows (column panels outside, row tiles inside, so a panel of Kᵀ stays in cache), softmax row by row " +
            "(exp weights, 1/Σ kept per row), then P·V likewise, scaling each output row by its 1/Σ.";
        yield return "Softmax in base 2: Q·Kᵀ's epilogue multiplies by log₂e/√d instead of 1/√d, so each weight is 2^(s − max), " +
            "10 vector operations per 16 scores with AVX-512 (vrndscaleps, vreduceps, a degree-5 polynomial, vscalefps), 2 ulp.";
        yield return RowTail(plan);
        yield return $"Scheduling: {Plural(plan.AttentionChunksPerHead, "chunk")} per (sequence, head) of at most {plan.AttentionMaxRowsPerChunk} rows, " +
            Threshold(plan, plan.AttentionFlopsPerSequence);
    }

    /// <summary>The branches whose causal Q·Kᵀ narrows its diagonal tiles, by name.</summary>
    public static string DiagonalBranches(KernelPlan plan) =>
        string.Join(", ", plan.Branches.Where(b => b.Scores.DiagonalSlots).Select(b => KernelPlanner.Describe(b.Isa)));

    private static void EmitPublicApi(SourceWriter w, KernelPlan plan, string kernel)
    {
        ShapeSpec shape = plan.Shape;
        int chunksPerSequence = shape.Heads * plan.AttentionChunksPerHead;
        string[] run = { $"new global::{FileHeaderEmitter.KernelNamespace}.{kernel}()", Times("batch", chunksPerSequence), $"batch * {plan.AttentionFlopsPerSequence}L", "maxDegreeOfParallelism" };
        EmitOverloadPair(
            w,
            "Attention",
            new[] { (Spans.ReadOnly, "q"), (Spans.ReadOnly, "k"), (Spans.ReadOnly, "v"), (Spans.Writable, "output") },
            new[]
            {
                $"/// <summary>Per head, <c>softmax(Q·Kᵀ/√{shape.HeadDim})·V</c> over row-major <c>[batch, {shape.SequenceLength}, {shape.EmbeddingDim}]</c> spans;",
                "/// runs on up to <see cref=\"global::FixedShapeAttention.KernelParallelism.DefaultMaxDegreeOfParallelism\"/> threads.</summary>",
            }.Concat(Remarks(w, Explanation(plan))).Concat(new[]
            {
                "/// <exception cref=\"global::System.ArgumentException\">A length is not a whole number of sequences, the lengths differ, or",
                "/// <paramref name=\"output\"/> overlaps an input.</exception>",
            }).ToArray(),
            () =>
            {
                w.Line($"int batch = {Spans.CompilerServices}.KernelArguments.ValidateAttention(q, k, v, output, {Dimensions(shape)});");
                w.List($"{Spans.CompilerServices}.ParallelRunner.Run(", run.Concat(new[] { "q", "k", "v", "default", "default", "output" }), ");");
            });

        w.Line();
        EmitOverloadPair(
            w,
            "Attention",
            new[] { (Spans.ReadOnly, "q"), (Spans.ReadOnly, "k"), (Spans.ReadOnly, "v"), (Spans.Counts, "keyCounts"), (Spans.Writable, "output") },
            new[]
            {
                "/// <summary>Attention with a key-padding mask: sequence i of the batch attends to its first <c>keyCounts[i]</c> keys only;",
                "/// masked keys get weight exactly 0 and a count of 0 gives zeros.</summary>",
                "/// <exception cref=\"global::System.ArgumentException\">A length is not a whole number of sequences, the lengths differ, a count is",
                $"/// outside [0, {shape.SequenceLength}], or <paramref name=\"output\"/> overlaps an input.</exception>",
            },
            () =>
            {
                w.Line($"int batch = {Spans.CompilerServices}.KernelArguments.ValidateMaskedAttention(q, k, v, keyCounts, output, {Dimensions(shape)});");
                w.List($"{Spans.CompilerServices}.ParallelRunner.Run(", run.Concat(new[] { "q", "k", "v", "default", "default", "output", "keyCounts" }), ");");
            });
    }

    /// <summary>The validation's dimensions: with grouped-query attention, K and V's width too.</summary>
    public static string Dimensions(ShapeSpec shape) => shape.KeyValueHeads == shape.Heads
        ? $"{shape.SequenceLength}, {shape.EmbeddingDim}"
        : $"{shape.SequenceLength}, {shape.EmbeddingDim}, {shape.KeyValueDim}";

    /// <summary>The offset of a chunk's key/value head in K and V: the query head's own without grouping.</summary>
    public static string KeyValueHead(ShapeSpec shape, string head) => shape.GroupSize == 1 ? head : $"{head} / {shape.GroupSize}";

    private static void EmitKernel(SourceWriter w, KernelPlan plan, string kernel)
    {
        ShapeSpec shape = plan.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim, d = shape.HeadDim, stride = plan.ScoreStride;
        w.Line($"/// <summary>The chunks of one {shape.Type.Name}.Attention call: chunk = (sequence, head, range of row tiles).</summary>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        using (w.Block($"file readonly struct {kernel} : IChunkKernel"))
        {
            w.Line($"// log₂e/√{d}: the scores come out in base 2, so softmax takes 2^(s − max) without a multiply (SoftmaxContract).");
            w.Line($"private const float ScoreScale = {IsaSyntax.FloatLiteral(SoftmaxContract.ScoreScale(d))};");
            w.Line();
            using (w.Block("public void Execute(in KernelBuffers buffers, int chunk)"))
            {
                int cph = plan.AttentionChunksPerHead;
                if (shape.Heads == 1 && cph == 1)
                {
                    w.Line("int sequence = chunk;");
                    w.Line("const int head = 0;");
                }
                else
                {
                    w.Line($"int sequence = chunk / {shape.Heads * cph};");
                    w.Line(cph == 1 ? $"int head = chunk % {shape.Heads};" : $"int head = chunk / {cph} % {shape.Heads};");
                }

                EmitTileRange(w, plan, cph);

                w.Line($"// Keys beyond keyCount are padding (masked call); the unmasked call sees all {s}.");
                w.Line($"int keyCount = buffers.SequenceCount(sequence, {s});");
                w.Line($"nint headOffset = (nint)sequence * {s * e} + head * {d};");
                string keyValueOffset = "headOffset";
                if (shape.GroupSize > 1)
                {
                    w.Line($"// Grouped-query attention: query head h reads key/value head h / {shape.GroupSize}, in K and V of {shape.KeyValueDim} columns.");
                    w.Line($"nint keyValueOffset = (nint)sequence * {s * shape.KeyValueDim} + {KeyValueHead(shape, "head")} * {d};");
                    keyValueOffset = "keyValueOffset";
                }

                w.Line("ref float qHead = ref Unsafe.Add(ref buffers.Input0, headOffset);");
                w.Line($"ref float kHead = ref Unsafe.Add(ref buffers.Input1, {keyValueOffset});");
                w.Line($"ref float vHead = ref Unsafe.Add(ref buffers.Input2, {keyValueOffset});");
                w.Line("ref float outputHead = ref Unsafe.Add(ref buffers.Output, headOffset);");
                w.Line($"// Scratch: Kᵀ of this head ({d} × {stride}), then up to {plan.AttentionBlockRows} score rows of {stride}.");
                w.Line($"ref float keysT = ref MemoryMarshal.GetReference(WorkerScratch.Get({plan.AttentionScratchFloats}));");
                w.Line($"ref float scores = ref Unsafe.Add(ref keysT, {d * stride});");
                w.Line($"// Kᵀ is the B operand of Q·Kᵀ: row c holds column c of this head's keys, zero-padded to {stride} so whole vectors load.");
                // Spans of the shape's constant extents (the public packer takes only spans and checks their lengths): the head's keys are
                // SequenceLength rows of stride KeyValueDim, the last one HeadDim long; Kᵀ is HeadDim rows of the score stride.
                int kv = shape.KeyValueDim;
                int keysRead = (s - 1) * kv + d;
                w.Line($"ReadOnlySpan<float> keys = MemoryMarshal.CreateReadOnlySpan(ref kHead, {keysRead});");
                w.Line($"KeyPacking.PackTransposed(keys, {kv}, {s}, {d}, MemoryMarshal.CreateSpan(ref keysT, {d * stride}), {stride});");
                w.Line("// A training forward pass (AttentionForTraining) passes the log-sum-exps as output 1: [batch, heads, rows].");
                w.Line("bool keepLogSumExp = buffers.HasOutput1;");
                w.Line($"ref float logSumExp = ref keepLogSumExp ? ref Unsafe.Add(ref buffers.Output1, ((nint)sequence * {shape.Heads} + head) * {s}) : ref Unsafe.NullRef<float>();");
                EmitLadder(w, plan, (arm, isa) => arm.Line(
                    $"Rows_{Suffix(plan.BodyOwner(isa, RowsBody))}(ref qHead, ref keysT, ref vHead, ref outputHead, ref scores, ref logSumExp, keepLogSumExp, firstTile, tileCount, keyCount);"));
            }

            foreach (IsaBranch owner in plan.BodyOwners(RowsBody))
            {
                w.Line();
                EmitRows(w, plan, plan.Branch(owner));
            }

            foreach (IsaBranch owner in plan.BodyOwners(b => b.Scores))
            {
                w.Line();
                EmitScores(w, plan, plan.Branch(owner));
            }

            foreach (IsaBranch owner in plan.BodyOwners(SoftmaxBody))
            {
                BranchPlan branch = plan.Branch(owner);
                w.Line();
                SoftmaxEmitter.EmitRowMethod(w, $"Softmax_{Suffix(owner)}", branch.Scores.Layout.Lanes, branch.ScoreColumns, shape.Causal);
            }

            foreach (IsaBranch owner in plan.BodyOwners(b => b.AttentionOutput))
            {
                w.Line();
                EmitOutput(w, plan, plan.Branch(owner));
            }
        }
    }

    /// <summary>What a branch's row driver calls: equal parts, equal driver.</summary>
    public static (ProductPlan, int, ProductPlan) RowsBody(BranchPlan b) => (b.Scores, b.ScoreColumns, b.AttentionOutput);

    /// <summary>What a softmax row method depends on: the score vectors' width and the padded row.</summary>
    public static (int, int) SoftmaxBody(BranchPlan b) => (b.Scores.Layout.Lanes, b.ScoreColumns);

    private static void EmitRows(SourceWriter w, KernelPlan plan, BranchPlan branch)
    {
        ShapeSpec shape = plan.Shape;
        string suffix = Suffix(branch.Isa);
        var names = (
            Scores: "Scores_" + Suffix(plan.BodyOwner(branch.Isa, b => b.Scores)),
            Softmax: "Softmax_" + Suffix(plan.BodyOwner(branch.Isa, SoftmaxBody)),
            Output: "Output_" + Suffix(plan.BodyOwner(branch.Isa, b => b.AttentionOutput)));
        int e = shape.EmbeddingDim, stride = plan.ScoreStride, tile = plan.RowTile;
        bool causal = shape.Causal;

        w.Line("/// <summary>Row tiles [firstTile, firstTile + tileCount) of one head, from its packed Kᵀ (the forward call's, or a decoding cache's).</summary>");
        // Internal: the decoding kernels in this file run a prefill's rows through it.
        w.List($"internal static void Rows_{suffix}(", new[] { "ref float qHead", "ref float keysT", "ref float vHead", "ref float outputHead", "ref float scores", "ref float logSumExp", "bool keepLogSumExp", "int firstTile", "int tileCount", "int keyCount" }, ")");
        using (w.Block())
        {
            w.Line($"int fullTiles = Math.Min(firstTile + tileCount, {plan.FullRowTiles}) - firstTile;");
            w.Line($"bool hasTail = firstTile + tileCount > {plan.FullRowTiles};");
            // The rows' 1/Σ on the stack: in the scratch array, next to the scores, the two-thread run was 10–15 % slower.
            w.Line($"Span<float> rowScales = stackalloc float[{plan.AttentionBlockRows}];");
            w.Line("ref float rowScale = ref MemoryMarshal.GetReference(rowScales);");
            w.Line($"Span<float> rowMaxima = stackalloc float[{plan.AttentionBlockRows}];");
            w.Line("ref float rowMaximum = ref MemoryMarshal.GetReference(rowMaxima);");
            if (plan.AttentionBlocked)
            {
                int blockTiles = plan.AttentionBlockTiles;
                w.Line($"// Score rows in blocks of {blockTiles * tile} ({blockTiles * tile} × {stride} floats), so they stay in L2 from Q·Kᵀ through P·V;");
                w.Line("// the row tail goes with the last block.");
                using (w.Block($"for (int blockStart = 0; ; blockStart += {blockTiles})"))
                {
                    w.Line($"int blockTiles = Math.Min(fullTiles - blockStart, {blockTiles});");
                    w.Line("bool blockTail = hasTail && blockStart + blockTiles == fullTiles;");
                    w.Line($"int firstRow = (firstTile + blockStart) * {tile};");
                    EmitRowBlock(w, plan, names, "blockTiles", "blockTail");
                    using (w.Block("if (blockStart + blockTiles >= fullTiles)"))
                    {
                        w.Line("break;");
                    }
                }
            }
            else
            {
                w.Line($"int firstRow = firstTile * {tile};");
                EmitRowBlock(w, plan, names, "fullTiles", "hasTail");
            }
        }
    }

    /// <summary>Q·Kᵀ, softmax and P·V over the rows of one block: <paramref name="tiles"/> full row tiles from <c>firstRow</c>, and the tail if <paramref name="tail"/>.</summary>
    private static void EmitRowBlock(SourceWriter w, KernelPlan plan, (string Scores, string Softmax, string Output) names, string tiles, string tail)
    {
        int e = plan.Shape.EmbeddingDim, stride = plan.ScoreStride;
        bool causal = plan.Shape.Causal;
        string rowArgument = causal ? ", firstRow" : "";
        w.Line($"int rows = {tiles} * {plan.RowTile}{(plan.TailRows > 0 ? $" + ({tail} ? {plan.TailRows} : 0)" : "")};");
        w.Line($"{names.Scores}(ref Unsafe.Add(ref qHead, firstRow * {e}), ref keysT, ref scores, {tiles}, {tail}{rowArgument});");
        using (w.Block("for (int row = 0; row < rows; row++)"))
        {
            string[] reach = causal ? new[] { "Math.Min(firstRow + row + 1, keyCount)", "firstRow + row + 1" } : new[] { "keyCount" };
            w.List(
                $"Unsafe.Add(ref rowScale, row) = {names.Softmax}(",
                reach.Prepend($"ref Unsafe.Add(ref scores, row * {stride})").Append("out Unsafe.Add(ref rowMaximum, row)"),
                ");");
        }

        // After the rows, not inside their loop: a library call per row there kept the next row's softmax waiting.
        using (w.Block("if (keepLogSumExp)"))
        {
            w.Line("// ln Σ e^(S/√d) = (max + log₂ Σ 2^(s − max))·ln 2 in base-2 scores, from the row's 1/Σ (its rounding moves the log by ≤ 2⁻²⁴).");
            using (w.Block("for (int row = 0; row < rows; row++)"))
            {
                w.Line("double log2Sum = -Math.Log2(Unsafe.Add(ref rowScale, row));");
                w.Line("Unsafe.Add(ref logSumExp, firstRow + row) = (float)((Unsafe.Add(ref rowMaximum, row) + log2Sum) * 0.6931471805599453);");
            }
        }

        w.Line($"{names.Output}(ref scores, ref vHead, ref rowScale, ref Unsafe.Add(ref outputHead, firstRow * {e}), {tiles}, {tail}{rowArgument});");
    }

    private static void EmitScores(SourceWriter w, KernelPlan plan, BranchPlan branch)
    {
        ShapeSpec shape = plan.Shape;
        var product = new ProductSpec("q", shape.EmbeddingDim, "keysT", plan.ScoreStride, "scores", plan.ScoreStride, branch.Scores)
        {
            SkipColumnsAfter = shape.Causal ? "lastRow" : null,
            SkipTilesBeforeColumnFrom = shape.Causal ? "firstRow" : null,
            Epilogue = (_, accumulator, _) => $"{accumulator} * scale",
        };
        var isa = IsaSyntax.ForLanes(branch.Scores.Layout.Lanes);
        string padding = branch.ScoreColumns > shape.SequenceLength ? " + padding" : "";
        w.Line($"/// <summary>Scores of the chunk's query rows in base 2: Q·Kᵀ·log₂e/√{shape.HeadDim} over {branch.ScoreColumns} columns ({shape.SequenceLength} keys{padding}).</summary>");
        string causal = shape.Causal ? ", int firstRow" : "";
        // Internal: the backward kernel in this file computes S and dP with the same bodies.
        using (w.Block($"internal static void Scores_{Suffix(branch.Isa)}(ref float q, ref float keysT, ref float scores, int fullTiles, bool hasTail{causal})"))
        {
            w.Line($"{isa.Type} scale = {isa.Broadcast("ScoreScale")};");
            if (shape.Causal)
            {
                w.Line("// Column panels that start after the chunk's last query, and row tiles that end before a panel's first key, are masked: skipped.");
                w.Line($"int lastRow = firstRow + fullTiles * {plan.RowTile}{(plan.TailRows > 0 ? $" + (hasTail ? {plan.TailRows} : 0)" : "")} - 1;");
            }

            MatMulEmitter.EmitRowTiles(w, product, plan.RowTile, plan.TailRows);
        }
    }

    private static void EmitOutput(SourceWriter w, KernelPlan plan, BranchPlan branch)
    {
        ShapeSpec shape = plan.Shape;
        var product = new ProductSpec("weights", plan.ScoreStride, "v", shape.KeyValueDim, "output", shape.EmbeddingDim, branch.AttentionOutput)
        {
            CausalRowStart = shape.Causal ? "rowStart" : null,
            RowStartOrigin = shape.Causal ? "firstRow" : null,
            RowOperand = "rowScale",
        };
        w.Line($"/// <summary>Output of the chunk's rows: exp weights · V over {shape.HeadDim} columns, each row times its 1/Σ.</summary>");
        string causal = shape.Causal ? ", int firstRow" : "";
        // Internal: a decode step runs its row tile through it.
        using (w.Block($"internal static void Output_{Suffix(branch.Isa)}(ref float weights, ref float v, ref float rowScale, ref float output, int fullTiles, bool hasTail{causal})"))
        {
            MatMulEmitter.EmitRowTiles(w, product, plan.RowTile, plan.TailRows);
        }
    }
}
