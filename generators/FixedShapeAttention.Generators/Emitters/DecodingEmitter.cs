using static FixedShapeAttention.Generators.Emitters.KernelEmitterCommon;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// Emits the decoding kernels of a causal shape into its attention file (<c>IDecodingKernels</c>): <c>CreateKeyValueCache</c>,
/// <c>Prefill</c> and <c>DecodeStep</c>. They run the causal kernel's own bodies on the cache, as the plan's
/// <see cref="DecodingPlan"/> says: a prefill runs the rows driver over the row tiles its staged rows touch, a decode step
/// runs Q·Kᵀ, softmax and P·V on the one row tile that holds each new row. The cache's appends and the checks are the
/// runtime's <c>DecodingOperations</c>.
/// </summary>
internal static class DecodingEmitter
{
    private const string Cache = "global::FixedShapeAttention.Decoding.KeyValueCache";
    private const string Operations = Spans.CompilerServices + ".DecodingOperations";

    private static IEnumerable<string> Explanation(KernelPlan plan, DecodingPlan decoding)
    {
        yield return $"Cache layout: {decoding.Layout}.";
        yield return $"Key/value heads: {plan.GroupedQuery}.";
        yield return $"Scheduling: {decoding.Scheduling}; " + Threshold(plan, plan.AttentionFlopsPerSequence);
        yield return "Checks: the cache's layout, the layer and sequences, the lengths, and each position against the sequence's length in that layer " +
            "(behind it, ahead of it or past the context throws) all run before the first write.";
    }

    public static void EmitPublicApi(SourceWriter w, KernelPlan plan, string kernel)
    {
        ShapeSpec shape = plan.Shape;
        DecodingPlan decoding = plan.Decoding!;
        string layout = $"{shape.SequenceLength}, {shape.EmbeddingDim}, {shape.KeyValueHeads}, {shape.HeadDim}, {decoding.KeyStride}";

        w.Line($"/// <summary>A key/value cache in this shape's layout for <paramref name=\"layers\"/> layers of <paramref name=\"sequences\"/> sequences.</summary>");
        w.Line("/// <exception cref=\"global::System.ArgumentOutOfRangeException\">A count is not positive, or a layer's buffers would not fit an array.</exception>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        w.Line($"public static {Cache} CreateKeyValueCache(int layers, int sequences) =>");
        w.Line($"    new {Cache}(layers, sequences, {layout});");
        w.Line();

        (string Type, string Name)[] prefill =
        {
            (Cache, "cache"), ("int", "layer"), ("int", "sequence"), ("int", "position"), (Spans.ReadOnly, "q"), (Spans.ReadOnly, "k"), (Spans.ReadOnly, "v"),
            (Spans.Writable, "output"), ("int", "maxDegreeOfParallelism"),
        };
        w.Line("/// <summary>Appends a prompt's rows of <paramref name=\"sequence\"/> at <paramref name=\"position\"/> to the cache of <paramref name=\"layer\"/>");
        w.Line("/// and writes their causal attention; see <see cref=\"global::FixedShapeAttention.IDecodingKernels\"/>.</summary>");
        foreach (string line in Remarks(w, Explanation(plan, decoding)))
        {
            w.Line(line);
        }

        w.Line("/// <exception cref=\"global::System.ArgumentException\">A check fails; nothing has been written.</exception>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        w.List("public static void Prefill(", prefill.Select(p => $"{p.Type} {p.Name}"), ")");
        using (w.Block())
        {
            w.List(
                $"int rows = {Operations}.BeginPrefill(",
                new[] { "cache", "layer", "sequence", "position", "q", "k", "v", "output", layout, "out long flops" },
                ");");
            w.Line($"// The row tiles of the sequence that hold rows [position, position + rows); the tail tile has {plan.TailRows} row{(plan.TailRows == 1 ? "" : "s")}.");
            w.Line($"int firstTile = position / {plan.RowTile};");
            w.Line($"int tileCount = global::System.Math.Min((position + rows + {plan.RowTile - 1}) / {plan.RowTile}, {plan.RowTiles}) - firstTile;");
            w.List(
                $"{Spans.CompilerServices}.ParallelRunner.Run(",
                new[]
                {
                    $"new global::{FileHeaderEmitter.KernelNamespace}.{shape.Type.Name}PrefillKernel(sequence, firstTile, tileCount, position + rows)",
                    $"{shape.Heads * decoding.PrefillChunksPerHead}", "flops", "maxDegreeOfParallelism", $"{Operations}.StagedQueries(cache)",
                    $"{Operations}.Keys(cache, layer)", $"{Operations}.Values(cache, layer)", "default", "default", $"{Operations}.StagedOutputs(cache)",
                },
                ");");
            w.Line($"{Operations}.FinishPrefill(cache, position, output);");
        }

        w.Line();
        (string Type, string Name)[] step =
        {
            (Cache, "cache"), ("int", "layer"), (Spans.Counts, "sequences"), (Spans.Counts, "positions"), (Spans.ReadOnly, "q"), (Spans.ReadOnly, "k"),
            (Spans.ReadOnly, "v"), (Spans.Writable, "output"), ("int", "maxDegreeOfParallelism"),
        };
        w.Line("/// <summary>Appends row i to sequence <paramref name=\"sequences\"/>[i] at <paramref name=\"positions\"/>[i] in the cache of");
        w.Line("/// <paramref name=\"layer\"/> and writes its attention over that sequence's keys;");
        w.Line("/// see <see cref=\"global::FixedShapeAttention.IDecodingKernels\"/>.</summary>");
        w.Line("/// <exception cref=\"global::System.ArgumentException\">A check fails (a batch mismatch, a repeated sequence, a position that is not the");
        w.Line("/// sequence's length, a full sequence); nothing has been written.</exception>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        w.List("public static void DecodeStep(", step.Select(p => $"{p.Type} {p.Name}"), ")");
        using (w.Block())
        {
            w.List(
                $"int rows = {Operations}.BeginDecodeStep(",
                new[] { "cache", "layer", "sequences", "positions", "q", "k", "v", "output", layout, "out long flops" },
                ");");
            w.List(
                $"{Spans.CompilerServices}.ParallelRunner.Run(",
                new[]
                {
                    $"new global::{FileHeaderEmitter.KernelNamespace}.{shape.Type.Name}DecodeStepKernel(cache)", Times("rows", shape.Heads), "flops",
                    "maxDegreeOfParallelism", "q", $"{Operations}.Keys(cache, layer)", $"{Operations}.Values(cache, layer)", "default", "default", "output",
                },
                ");");
        }
    }

    public static void EmitKernels(SourceWriter w, KernelPlan plan, string kernel)
    {
        EmitPrefillKernel(w, plan, kernel);
        w.Line();
        EmitDecodeStepKernel(w, plan, kernel);
    }

    /// <summary>Where a chunk's key/value head starts in the cache: its Kᵀ panel and its first value row.</summary>
    private static void EmitCacheHead(SourceWriter w, ShapeSpec shape, DecodingPlan decoding)
    {
        string keyValueHead = AttentionEmitter.KeyValueHead(shape, "head");
        if (shape.GroupSize > 1)
        {
            w.Line($"// Grouped-query attention: query head h reads key/value head h / {shape.GroupSize}.");
        }

        w.Line($"ref float keysT = ref Unsafe.Add(ref buffers.Input1, ((nint)sequence * {shape.KeyValueHeads} + {keyValueHead}) * {decoding.KeyPanelFloats});");
        w.Line($"ref float vHead = ref Unsafe.Add(ref buffers.Input2, (nint)sequence * {shape.SequenceLength * shape.KeyValueDim} + {keyValueHead} * {shape.HeadDim});");
    }

    private static void EmitPrefillKernel(SourceWriter w, KernelPlan plan, string kernel)
    {
        ShapeSpec shape = plan.Shape;
        DecodingPlan decoding = plan.Decoding!;
        int chunks = decoding.PrefillChunksPerHead, d = shape.HeadDim;
        string name = shape.Type.Name + "PrefillKernel";
        w.Line($"/// <summary>The chunks of one {shape.Type.Name}.Prefill call: chunk = (head, share of the prompt's row tiles), on the staged rows.</summary>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        using (w.Block($"file readonly struct {name} : IChunkKernel"))
        {
            w.Line("private readonly int _sequence, _firstTile, _tileCount, _keyCount;");
            w.Line();
            using (w.Block($"public {name}(int sequence, int firstTile, int tileCount, int keyCount)"))
            {
                w.Line("_sequence = sequence;");
                w.Line("_firstTile = firstTile;");
                w.Line("_tileCount = tileCount;");
                w.Line("_keyCount = keyCount;");
            }

            w.Line();
            using (w.Block("public void Execute(in KernelBuffers buffers, int chunk)"))
            {
                if (chunks == 1)
                {
                    w.Line("int head = chunk;");
                    w.Line("int firstTile = _firstTile;");
                    w.Line("int tileCount = _tileCount;");
                }
                else
                {
                    w.Line($"int head = chunk / {chunks};");
                    w.Line($"int part = chunk % {chunks};");
                    w.Line($"int firstTile = _firstTile + RowPartition.Start(_tileCount, {chunks}, part);");
                    w.Line($"int tileCount = RowPartition.Count(_tileCount, {chunks}, part);");
                    using (w.Block("if (tileCount == 0)"))
                    {
                        w.Line("return;");
                    }
                }

                w.Line("int sequence = _sequence;");
                w.Line($"// The staged rows are [{shape.SequenceLength}, {shape.EmbeddingDim}], row i at position i, as the forward kernel's rows of one sequence.");
                w.Line($"ref float qHead = ref Unsafe.Add(ref buffers.Input0, head * {d});");
                w.Line($"ref float outputHead = ref Unsafe.Add(ref buffers.Output, head * {d});");
                EmitCacheHead(w, shape, decoding);
                w.Line($"ref float scores = ref MemoryMarshal.GetReference(WorkerScratch.Get({decoding.PrefillScratchFloats}));");
                w.Line("// No log-sum-exps: a prefill is inference.");
                w.Line("ref float noLogSumExp = ref Unsafe.NullRef<float>();");
                // An arm is written at indentation 0 and indented afterwards, so long calls are broken by hand.
                EmitLadder(w, plan, (arm, isa) =>
                {
                    arm.Line($"{kernel}.Rows_{Suffix(plan.BodyOwner(isa, AttentionEmitter.RowsBody))}(");
                    arm.Line("    ref qHead, ref keysT, ref vHead, ref outputHead, ref scores, ref noLogSumExp, false, firstTile, tileCount, _keyCount);");
                });
            }
        }
    }

    private static void EmitDecodeStepKernel(SourceWriter w, KernelPlan plan, string kernel)
    {
        ShapeSpec shape = plan.Shape;
        DecodingPlan decoding = plan.Decoding!;
        int e = shape.EmbeddingDim, d = shape.HeadDim, tile = plan.RowTile, stride = decoding.KeyStride;
        string name = shape.Type.Name + "DecodeStepKernel";
        w.Line($"/// <summary>The chunks of one {shape.Type.Name}.DecodeStep call: chunk = (row, head).</summary>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        using (w.Block($"file readonly struct {name} : IChunkKernel"))
        {
            w.Line($"private readonly global::FixedShapeAttention.Decoding.KeyValueCache _cache;");
            w.Line();
            using (w.Block($"public {name}(global::FixedShapeAttention.Decoding.KeyValueCache cache)"))
            {
                w.Line("_cache = cache;");
            }

            w.Line();
            using (w.Block("public void Execute(in KernelBuffers buffers, int chunk)"))
            {
                w.Line($"int row = chunk / {shape.Heads};");
                w.Line($"int head = chunk % {shape.Heads};");
                w.Line($"{Operations}.DecodeRow(_cache, row, out int sequence, out int position);");
                w.Line($"// The row tile that holds the position, as the forward kernel cuts the sequence; the tail tile has {plan.TailRows} row{(plan.TailRows == 1 ? "" : "s")}.");
                w.Line($"int tileStart = position / {tile} * {tile};");
                w.Line($"int target = position - tileStart;");
                if (plan.TailRows > 0)
                {
                    w.Line($"bool tail = tileStart == {plan.FullRowTiles * tile};");
                    w.Line("int fullTiles = tail ? 0 : 1;");
                    w.Line($"int tileRows = tail ? {plan.TailRows} : {tile};");
                }
                else
                {
                    w.Line("const bool tail = false;");
                    w.Line("const int fullTiles = 1;");
                    w.Line($"const int tileRows = {tile};");
                }

                w.Line($"// Scratch: the tile's score rows ({tile} × {stride}), then its query and output rows ({tile} × {e} each, the head in columns 0..{d - 1}).");
                w.Line($"ref float scores = ref MemoryMarshal.GetReference(WorkerScratch.Get({decoding.DecodeScratchFloats}));");
                w.Line($"ref float queries = ref Unsafe.Add(ref scores, {decoding.DecodeQueriesOffset});");
                w.Line($"ref float outputs = ref Unsafe.Add(ref scores, {decoding.DecodeOutputsOffset});");
                w.Line("// The tile's other rows get zero queries: computed and dropped (the step reads the cache once for the whole tile).");
                using (w.Block("for (int r = 0; r < tileRows; r++)"))
                {
                    w.Line($"Span<float> query = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref queries, r * {e}), {d});");
                    using (w.Block("if (r == target)"))
                    {
                        w.Line($"MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref buffers.Input0, (nint)row * {e} + head * {d}), {d}).CopyTo(query);");
                    }

                    using (w.Block("else"))
                    {
                        w.Line("query.Clear();");
                    }
                }

                EmitCacheHead(w, shape, decoding);
                w.Line($"// Only the row's own softmax runs: the other rows' outputs are dropped, so their 1/Σ is 0.");
                w.Line($"Span<float> rowScales = stackalloc float[{tile}];");
                w.Line("rowScales.Clear();");
                w.Line("ref float targetScores = ref Unsafe.Add(ref scores, target * " + stride + ");");
                EmitLadder(w, plan, (arm, isa) =>
                {
                    arm.List(
                        $"{kernel}.Scores_{Suffix(plan.BodyOwner(isa, b => b.Scores))}(", new[] { "ref queries", "ref keysT", "ref scores", "fullTiles", "tail", "tileStart" }, ");");
                    arm.List(
                        $"rowScales[target] = {kernel}.Softmax_{Suffix(plan.BodyOwner(isa, AttentionEmitter.SoftmaxBody))}(",
                        new[] { "ref targetScores", "position + 1", "position + 1", "out _" },
                        ");");
                    arm.Line($"{kernel}.Output_{Suffix(plan.BodyOwner(isa, b => b.AttentionOutput))}(");
                    arm.Line("    ref scores, ref vHead, ref MemoryMarshal.GetReference(rowScales), ref outputs, fullTiles, tail, tileStart);");
                });
                w.Line($"MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref outputs, target * {e}), {d})");
                w.Line($"    .CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref buffers.Output, (nint)row * {e} + head * {d}), {d}));");
            }
        }
    }
}
