using System.Globalization;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// An integer index expression: a constant plus variable terms (<c>k * 384 + col + 16</c>). Emitted folded, so an
/// unrolled step reads as one literal and a loop step names its variables.
/// </summary>
internal readonly struct Index
{
    private readonly (string Variable, int Coefficient)[] _terms;

    private Index(int constant, (string, int)[] terms)
    {
        Constant = constant;
        _terms = terms;
    }

    public int Constant { get; }

    public bool IsConstant => _terms is null || _terms.Length == 0;

    public static Index Of(int constant) => new(constant, System.Array.Empty<(string, int)>());

    public static Index Of(string variable, int coefficient = 1) => new(0, new[] { (variable, coefficient) });

    public static Index operator +(Index left, Index right) =>
        new(left.Constant + right.Constant, (left._terms ?? System.Array.Empty<(string, int)>()).Concat(right._terms ?? System.Array.Empty<(string, int)>()).ToArray());

    public static Index operator +(Index left, int right) => left + Of(right);

    public static Index operator *(Index left, int factor) =>
        new(left.Constant * factor, (left._terms ?? System.Array.Empty<(string, int)>()).Select(t => (t.Variable, t.Coefficient * factor)).ToArray());

    public override string ToString()
    {
        var parts = new List<string>();
        foreach (var (variable, coefficient) in _terms ?? System.Array.Empty<(string, int)>())
        {
            if (coefficient != 0)
            {
                parts.Add(coefficient == 1 ? variable : $"{variable} * {coefficient.ToString(CultureInfo.InvariantCulture)}");
            }
        }

        if (Constant != 0 || parts.Count == 0)
        {
            parts.Add(Constant.ToString(CultureInfo.InvariantCulture));
        }

        return string.Join(" + ", parts);
    }
}
