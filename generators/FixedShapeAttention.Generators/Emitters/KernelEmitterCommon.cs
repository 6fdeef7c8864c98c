using System.Globalization;
using System.Text;
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
    public static void EmitOverloadPair(SourceWriter w, string name, (string Type, string Name)[] parameters, string[] docLines, Action body) =>
        EmitOverloadPair(w, "void", name, parameters, docLines, body);

    /// <summary>As the other overload, for a method that returns <paramref name="returnType"/>.</summary>
    public static void EmitOverloadPair(SourceWriter w, string returnType, string name, (string Type, string Name)[] parameters, string[] docLines, Action body)
    {
        string[] declared = parameters.Select(p => $"{p.Type} {p.Name}").ToArray();
        string[] cref = parameters.Select(p => p.Type.Replace('<', '{').Replace('>', '}')).ToArray();
        foreach (string line in docLines)
        {
            w.Line(line);
        }

        w.Line(FileHeaderEmitter.GeneratedCode);
        w.List($"public static {returnType} {name}(", declared, ") =>");
        w.List($"    {name}(", parameters.Select(p => p.Name).Append(Spans.DefaultParallelism), ");");
        w.Line();
        w.List($"/// <inheritdoc cref=\"{name}(", cref, ")\"/>", commentPrefix: "///");
        w.Line("/// <param name=\"maxDegreeOfParallelism\">-1 for every processor, 1 for the calling thread only. Results are bit-identical for every value.</param>");
        w.Line(FileHeaderEmitter.GeneratedCode);
        w.List($"public static {returnType} {name}(", declared.Append("int maxDegreeOfParallelism"), ")");
        using (w.Block())
        {
            body();
        }
    }

    public static string Suffix(IsaBranch isa) => isa == IsaBranch.Scalar ? "Scalar" : KernelPlanner.Describe(isa);

    public static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture).Replace(",", "_");

    /// <summary><c>{variable} * {factor}</c>, or the variable alone for a factor of 1.</summary>
    public static string Times(string variable, long factor) => factor == 1 ? variable : $"{variable} * {factor}";

    public static string Plural(long count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";

    /// <summary>The widest generated line this writer allows itself in documentation (code lines are shorter by design).</summary>
    public const int DocumentationWidth = 120;

    /// <summary>
    /// The kernel's explanation as the public method's <c>&lt;remarks&gt;</c>: one paragraph per entry, XML-escaped and
    /// wrapped so that no line, indentation included, is wider than <see cref="DocumentationWidth"/>.
    /// </summary>
    public static string[] Remarks(SourceWriter w, IEnumerable<string> paragraphs)
    {
        int width = DocumentationWidth - w.IndentWidth - "/// ".Length;
        var lines = new List<string> { "/// <remarks>" };
        foreach (string paragraph in paragraphs)
        {
            string text = "<para>" + paragraph.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;") + "</para>";
            var line = new StringBuilder();
            foreach (string word in text.Split(' '))
            {
                if (line.Length > 0 && line.Length + 1 + word.Length > width)
                {
                    lines.Add("/// " + line);
                    line.Clear();
                }

                line.Append(line.Length > 0 ? " " : "").Append(word);
            }

            lines.Add("/// " + line);
        }

        lines.Add("/// </remarks>");
        return lines.ToArray();
    }

    public static string TileDescription(KernelPlan plan, Func<BranchPlan, ProductPlan> product)
    {
        var parts = new List<string>();
        foreach (BranchPlan branch in plan.Branches)
        {
            ProductPlan p = product(branch);
            ColumnLayout layout = p.Layout;
            string slot = layout.Lanes switch { 16 => "Vector512", 8 => "Vector256", 4 => "Vector128", _ => "float" };
            // A product narrower than one panel only ever runs its remainder block.
            int slots = layout.FullPanels > 0 ? layout.PanelSlots : layout.RemainderOffsets.Count;
            int rows = p.PairRowTiles ? 2 * plan.RowTile : plan.RowTile;
            parts.Add($"{KernelPlanner.Describe(branch.Isa)} {rows}×{slots} {slot}{(p.PairRowTiles ? " (row tiles in pairs)" : "")}");
        }

        return string.Join(", ", parts);
    }

    /// <summary>The strategy of every branch with its reason.</summary>
    public static string Strategy(KernelPlan plan, Func<BranchPlan, Choice> choice) =>
        "Strategy, each ISA branch by its own products (full unroll: k and column panels are straight-line code; blocked: they " +
        "loop around an unrolled register tile): " + string.Join("; ", plan.Branches.Select(b => choice(b).Reason)) + ".";

    public static string RowTail(KernelPlan plan) => plan.TailRows == 0
        ? $"Row tail: {plan.Shape.SequenceLength} rows = {Plural(plan.FullRowTiles, "tile")} of {plan.RowTile}, no row tail."
        : $"Row tail: {plan.Shape.SequenceLength} rows = {Plural(plan.FullRowTiles, "tile")} of {plan.RowTile} + a tail tile of " +
          $"{Plural(plan.TailRows, "row")}, emitted as its own code.";

    public static string Threshold(KernelPlan plan, long flopsPerSequence) =>
        $"{Number(flopsPerSequence)} flops per sequence; below {Number(plan.ParallelThresholdFlops)} flops per call every chunk runs on the calling thread.";

    /// <summary>
    /// A chunk's range of row tiles when a sequence's (or a head's) tiles are cut into <paramref name="chunks"/> by
    /// <c>RowPartition</c>: <c>firstTile</c> and <c>tileCount</c>, constants when there is one chunk (then
    /// <c>tileCount</c> only if <paramref name="countUsed"/>).
    /// </summary>
    public static void EmitTileRange(SourceWriter w, KernelPlan plan, int chunks, bool countUsed = true)
    {
        if (chunks == 1)
        {
            w.Line("const int firstTile = 0;");
            if (countUsed)
            {
                w.Line($"const int tileCount = {plan.RowTiles};");
            }

            return;
        }

        w.Line($"int part = chunk % {chunks};");
        w.Line($"int firstTile = RowPartition.Start({plan.RowTiles}, {chunks}, part);");
        w.Line($"int tileCount = RowPartition.Count({plan.RowTiles}, {chunks}, part);");
    }

    /// <summary>
    /// The ISA ladder of TensorPrimitives: the JIT folds the IsHardwareAccelerated checks, so only one branch remains.
    /// Neighbouring branches whose arms would be the same text (they call the same shared bodies) share one arm.
    /// </summary>
    public static void EmitLadder(SourceWriter w, KernelPlan plan, Action<SourceWriter, IsaBranch> call)
    {
        var arms = new List<(List<IsaBranch> Branches, string Text)>();
        foreach (BranchPlan branch in plan.Branches)
        {
            var arm = new SourceWriter();
            call(arm, branch.Isa);
            string text = arm.ToString();
            if (arms.Count > 0 && arms[arms.Count - 1].Text == text)
            {
                arms[arms.Count - 1].Branches.Add(branch.Isa);
            }
            else
            {
                arms.Add((new List<IsaBranch> { branch.Isa }, text));
            }
        }

        for (int i = 0; i < arms.Count; i++)
        {
            if (arms.Count == 1)
            {
                w.Lines(arms[i].Text);
                return;
            }

            string condition = string.Join(" || ", arms[i].Branches.Select(isa => $"{Suffix(isa)}.IsHardwareAccelerated"));
            string header = i == 0 ? $"if ({condition})" : arms[i].Branches.Contains(IsaBranch.Scalar) ? "else" : $"else if ({condition})";
            using (w.Block(header))
            {
                w.Lines(arms[i].Text);
            }
        }
    }
}
