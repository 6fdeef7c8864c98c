using Xunit;

namespace FixedShapeAttention.Tests;

/// <summary>The reference is only as good as its erfc; check it against tabulated values (A&amp;S Table 7.1, Wolfram).</summary>
public class ReferenceTests
{
    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(0.5, 0.47950012218695346)]
    [InlineData(1.0, 0.15729920705028513)]
    [InlineData(2.0, 0.004677734981047266)]
    [InlineData(3.0, 2.209049699858544e-05)]
    [InlineData(6.0, 2.1519736712498913e-17)]
    [InlineData(-1.0, 1.8427007929497148)]
    public void Erfc_matches_tabulated_values(double z, double expected) =>
        Assert.Equal(expected, Reference.Erfc(z), expected * 1e-13);
}
