using System.Globalization;
using FixedShapeAttention.Generators.Model;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// How one vector width is spelled in generated C#: the same emitter writes Vector512, Vector256, Vector128 and
/// scalar code by asking this for each operation (how a multiply-add rounds is the product plan's choice, not this).
/// </summary>
internal sealed class IsaSyntax
{
    private IsaSyntax(int lanes) => Lanes = lanes;

    public int Lanes { get; }

    public bool IsScalar => Lanes == 1;

    /// <summary>Vector512, Vector256, Vector128, or null for scalar.</summary>
    public string? VectorClass => Lanes switch
    {
        16 => "Vector512",
        8 => "Vector256",
        4 => "Vector128",
        _ => null,
    };

    public string Type => IsScalar ? "float" : $"{VectorClass}<float>";

    public string DoubleType => IsScalar ? "double" : $"{VectorClass}<double>";

    public string Zero => IsScalar ? "0f" : $"{Type}.Zero";

    public string DoubleZero => IsScalar ? "0d" : $"{DoubleType}.Zero";

    public static IsaSyntax ForLanes(int lanes) => new(lanes);

    public string Load(string reference, Index index) => Load(reference, index.ToString());

    /// <summary>A load at an offset expression (an <see cref="Index"/>'s text, or a call such as <c>Weights(16, 20)</c>).</summary>
    public string Load(string reference, string offset) =>
        IsScalar ? Element(reference, offset)
        : offset == "0" ? $"{VectorClass}.LoadUnsafe(ref {reference})"
        : $"{VectorClass}.LoadUnsafe(ref {reference}, {Offset(offset)})";

    public string Store(string value, string reference, Index index) => Store(value, reference, index.ToString());

    public string Store(string value, string reference, string offset) =>
        IsScalar ? $"{Element(reference, offset)} = {value};" : $"{VectorClass}.StoreUnsafe({value}, ref {reference}, {Offset(offset)});";

    public string Broadcast(string scalar) => IsScalar ? scalar : $"{VectorClass}.Create({scalar})";

    /// <summary>a·b + c in the form the product's plan chose (see <see cref="MultiplyAddForm"/>).</summary>
    public string MultiplyAdd(MultiplyAddForm form, string a, string b, string c) => form switch
    {
        MultiplyAddForm.MultiplyThenAdd => $"{a} * {b} + {c}",
        MultiplyAddForm.FusedWhereAvailable => $"{(IsScalar ? "float" : VectorClass)}.MultiplyAddEstimate({a}, {b}, {c})",
        _ => $"{(IsScalar ? "MathF" : VectorClass)}.FusedMultiplyAdd({a}, {b}, {c})",
    };

    /// <summary>The hardware max (vmaxps): a NaN lane may be dropped here, but exp(NaN − max) puts it back into the
    /// row's sum, so a row with a NaN score still comes out NaN; IEEE Max costs two fix-up instructions per step.</summary>
    public string Max(string a, string b) => IsScalar ? $"MathF.Max({a}, {b})" : $"{VectorClass}.MaxNative({a}, {b})";

    /// <summary>2^t of a softmax argument in base-2 scores, t − max: never positive, −Inf or NaN (one name at every width).</summary>
    public string Exp2NonPositive(string t) => $"ExpOperator.Exp2BelowOverflow({t})";

    public string MaxAcross(string x) => IsScalar ? x : $"KernelMath.MaxAcross({x})";

    /// <summary>Adds the lanes of a float vector, widened to double, into one or two double accumulators.</summary>
    public string[] AccumulateDouble(string lower, string upper, string value) => IsScalar
        ? new[] { $"{lower} += {value};" }
        : new[] { $"{lower} += {VectorClass}.WidenLower({value});", $"{upper} += {VectorClass}.WidenUpper({value});" };

    /// <summary>The total of the two double accumulators: lane by lane, then one horizontal sum (one reduction chain per row, not two).</summary>
    public string SumDouble(string lower, string upper) => IsScalar ? lower : $"{VectorClass}.Sum({lower} + {upper})";

    /// <summary>The element <paramref name="index"/> past <paramref name="reference"/>, as an assignable expression.</summary>
    public static string Element(string reference, Index index) => Element(reference, index.ToString());

    private static string Element(string reference, string offset) => offset == "0" ? reference : $"Unsafe.Add(ref {reference}, {offset})";

    private static string Offset(Index index) => Offset(index.ToString());

    /// <summary>A literal converts to nuint implicitly; any other expression is cast.</summary>
    private static string Offset(string offset) =>
        int.TryParse(offset, NumberStyles.None, CultureInfo.InvariantCulture, out _) ? offset : $"(nuint)({offset})";

    /// <summary>A float literal that round-trips, written under the invariant culture (never a locale's comma or U+2212 minus).</summary>
    public static string FloatLiteral(float value) =>
        value.ToString("R", CultureInfo.InvariantCulture) + "f";
}
