using static FixedShapeAttention.Generators.Emitters.KernelEmitterCommon;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// What the kernels with weights (feed-forward network and projection) share: one kernel body for raw and packed
/// weights, told apart by a struct type argument; the packing class; and the row range of a chunk.
/// </summary>
internal static class WeightedKernels
{
    /// <summary>
    /// What tells one kernel with weights from another in its public API: the method (FeedForward, Project; also
    /// <c>Pack{Method}</c>), its formula, the packed weights type, the raw overload's weight parameters with their
    /// <c>[rows, columns]</c> for the documentation, and what the prepacked overload passes in their place.
    /// </summary>
    public sealed record WeightedApi(string Method, string Formula, string WeightsType, string[] Weights, string[] WeightShapes, string[] PackedArguments)
    {
        /// <summary>SequenceLength, then the dimensions the weights have (the validation helpers' trailing arguments).</summary>
        public string[] Dimensions { get; init; } = Array.Empty<string>();

        public string Validate => "Validate" + Noun;

        public string ValidateWeights => "Validate" + Noun + "Weights";

        public string ValidatePacked => "ValidatePacked" + Noun;

        /// <summary>The noun of the validation helpers: Projection for Project.</summary>
        public string Noun { get; init; } = "";

        public string[] Summary { get; init; } = Array.Empty<string>();

        public IEnumerable<string> Explanation { get; init; } = Array.Empty<string>();

        /// <summary>Writes the parallel run of a kernel type with the given weight arguments.</summary>
        public Action<SourceWriter, string, string[]> Run { get; init; } = (_, _, _) => { };
    }

    /// <summary>The weight layouts of <c>FixedShapeAttention.CompilerServices</c>: the JIT compiles a kernel once per
    /// struct argument, so <c>TWeights.IsPacked</c> is a constant in each and the choice costs nothing in the inner loop.</summary>
    public const string RowMajor = Spans.CompilerServices + ".RowMajorWeights";

    public const string Packed = Spans.CompilerServices + ".PackedWeights";

    /// <summary>
    /// A whole file of a kernel with weights: its public API in the user's type, then (in the kernel namespace) the
    /// kernel <paramref name="emitKernel"/> writes and the packing class of <paramref name="matrices"/>.
    /// </summary>
    public static string Write(
        KernelPlan plan, WeightedApi api, string kind, Action<SourceWriter, string> emitKernel,
        (string Source, Func<BranchPlan, ProductPlan> Product)[] matrices, string fromPacked)
    {
        string kernel = plan.Shape.Type.Name + kind + "Kernel";
        string packing = plan.Shape.Type.Name + kind + "Packing";
        return FileHeaderEmitter.Write(plan.Shape.Type, w => EmitPublicApi(w, plan, api, kernel, packing), w =>
        {
            emitKernel(w, kernel);
            w.Line();
            EmitPacking(w, plan, packing, api.WeightsType, api.Weights, matrices, fromPacked);
        });
    }

    /// <summary>
    /// The public side of a kernel with weights: the raw-span overload pair, <c>Pack{Method}</c>, and the prepacked overload
    /// pair, which runs the same kernel as <c>{kernel}&lt;PackedWeights&gt;</c>.
    /// </summary>
    private static void EmitPublicApi(SourceWriter w, KernelPlan plan, WeightedApi api, string kernel, string packing)
    {
        string dims = string.Join(", ", api.Dimensions);
        string weightDims = string.Join(", ", api.Dimensions.Skip(1));
        string lanes = $"global::{FileHeaderEmitter.KernelNamespace}.{packing}.Lanes";
        EmitOverloadPair(
            w,
            api.Method,
            api.Weights.Select(name => (Spans.ReadOnly, name)).Prepend((Spans.ReadOnly, "x")).Append((Spans.Writable, "y")).ToArray(),
            api.Summary.Concat(Remarks(w, api.Explanation)).Append(
                "/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape, or <paramref name=\"y\"/> overlaps an input.</exception>").ToArray(),
            () =>
            {
                w.List($"int batch = {Spans.CompilerServices}.KernelArguments.{api.Validate}(", api.Weights.Prepend("x").Append("y").Concat(api.Dimensions), ");");
                api.Run(w, $"{kernel}<{RowMajor}>", api.Weights);
            });

        w.Line();
        w.Line($"/// <summary>Packs {string.Join(", ", api.Weights.Zip(api.WeightShapes, (name, shape) => $"{name} <c>{shape}</c>"))} once,");
        w.Line($"/// for <c>{api.Method}(x, weights, y)</c>.</summary>");
        w.Line("/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape.</exception>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        w.List($"public static {api.WeightsType} Pack{api.Noun}(", api.Weights.Select(p => $"{Spans.ReadOnly} {p}"), ")");
        using (w.Block())
        {
            w.Line($"{Spans.CompilerServices}.KernelArguments.{api.ValidateWeights}({string.Join(", ", api.Weights)}, {weightDims});");
            w.Line($"return global::{FileHeaderEmitter.KernelNamespace}.{packing}.Pack({string.Join(", ", api.Weights)});");
        }

        w.Line();
        EmitOverloadPair(
            w,
            api.Method,
            new[] { (Spans.ReadOnly, "x"), (api.WeightsType, "weights"), (Spans.Writable, "y") },
            new[]
            {
                $"/// <summary><c>{api.Formula}</c> with weights from <c>Pack{api.Noun}</c>; bit-identical to the raw-span overload.</summary>",
                "/// <exception cref=\"global::System.ArgumentException\">A length does not match the shape, <paramref name=\"y\"/> overlaps <paramref name=\"x\"/>,",
                "/// or the weights were packed for other dimensions or another vector width.</exception>",
            },
            () =>
            {
                w.List($"int batch = {Spans.CompilerServices}.KernelArguments.{api.ValidatePacked}(", new[] { "x", "weights", "y", dims, lanes }, ");");
                api.Run(w, $"{kernel}<{Packed}>", api.PackedArguments);
            });
    }

    /// <summary>
    /// <c>C = A·B + bias</c>, then <paramref name="activation"/> if given, with B (as wide as C) read in the kernel's
    /// weight layout: the product of every kernel with weights.
    /// </summary>
    public static ProductSpec Affine(string a, int lda, string b, string c, ProductPlan plan, string bias, string? activation = null) =>
        new(a, lda, b, plan.Layout.Columns, c, plan.Layout.Columns, plan)
        {
            EitherLayout = true,
            ColumnOperand = bias,
            Epilogue = activation is null
                ? (_, accumulator, column) => $"{accumulator} + {column}"
                : (_, accumulator, column) => $"{activation}.Invoke({accumulator} + {column})",
        };

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
    private static void EmitPacking(
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
            w.Line("public static int Lanes => Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : Vector128.IsHardwareAccelerated ? 4 : 1;");
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
        w.Line(chunks == 1 ? "int sequence = chunk;" : $"int sequence = chunk / {chunks};");
        EmitTileRange(w, plan, chunks, countUsed: false);
        if (chunks == 1)
        {
            EmitAllRows(w, plan, passesTail: true);
            return;
        }

        w.Line($"int fullTiles = Math.Min(firstTile + tileCount, {plan.FullRowTiles}) - firstTile;");
        w.Line($"bool hasTail = firstTile + tileCount > {plan.FullRowTiles};");
    }

    /// <summary>The remark on how the plain-array overload reads each weight matrix (the plan's panel scratch).</summary>
    public static string PlainArrays(KernelPlan plan, params (string Name, Func<BranchPlan, ProductPlan> Product)[] matrices)
    {
        string[] copied = matrices.Where(m => plan.Branches.Any(b => m.Product(b).PanelScratchFloats > 0)).Select(m => m.Name).ToArray();
        int threshold = Planning.KernelPlanner.PanelsOnTheFlyMinBytes / 1024;
        return copied.Length == 0
            ? $"Plain arrays: B is read in place (under {threshold} KiB, unrolled or one panel wide, it stays in cache as it is)."
            : $"Plain arrays: each full column panel of {string.Join(" and ", copied)} is copied into the worker's scratch, in the packed " +
              $"layout's order (packing on the fly: read in place, a B of {threshold} KiB or more touches new lines and pages at every k " +
              "step), so this overload reads B as the prepacked one does, with the same multiply-adds in the same order. " +
              (matrices.All(m => plan.Branches.All(b => m.Product(b).PanelCopy != PanelCopy.BeforeTiles))
                  ? "The chunk's first row tile makes the copy: it reads the panel in place for its own multiply-adds and stores each " +
                    "vector as it loads it, so the copy hides behind them; the other row tiles read the copy."
                  : "PanelPacking.PackPanel makes the copy before the row tiles: a chunk may have no full row tile to make it as it computes.");
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
