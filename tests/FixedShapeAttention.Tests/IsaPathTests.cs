using System;
using System.Runtime.Intrinsics;
using Xunit;

namespace FixedShapeAttention.Tests;

/// <summary>
/// .ci/run repeats the suite with DOTNET_EnableAVX512=0, DOTNET_EnableAVX2=0 and DOTNET_EnableHWIntrinsic=0; this
/// proves each pass really runs the branch it claims (a renamed switch would silently test Vector512 four times).
/// </summary>
public class IsaPathTests
{
    [Fact]
    public void The_environment_selects_the_expected_vector_width()
    {
        bool Disabled(string name) => Environment.GetEnvironmentVariable(name) == "0";
        if (Disabled("DOTNET_EnableHWIntrinsic"))
        {
            Assert.False(Vector128.IsHardwareAccelerated);
        }
        else if (Disabled("DOTNET_EnableAVX2"))
        {
            Assert.False(Vector256.IsHardwareAccelerated);
            Assert.True(Vector128.IsHardwareAccelerated);
        }
        else if (Disabled("DOTNET_EnableAVX512"))
        {
            Assert.False(Vector512.IsHardwareAccelerated);
            Assert.True(Vector256.IsHardwareAccelerated);
        }
        else
        {
            Assert.True(Vector256.IsHardwareAccelerated);
        }

        // The generated kernels pack for the branch they run: a branch missing from the ladder falls through to a narrower one.
        int expectedLanes = Disabled("DOTNET_EnableHWIntrinsic") ? 1 : Disabled("DOTNET_EnableAVX2") ? 4 : Disabled("DOTNET_EnableAVX512") ? 8 : Vector512.IsHardwareAccelerated ? 16 : 8;
        Assert.Equal(expectedLanes, Engines.Pack("WorkedExample", new float[3 * 12], new float[12], new float[12 * 3], new float[3]).Lanes);

        TestContext.Current.SendDiagnosticMessage($"Vector512 {Vector512.IsHardwareAccelerated}, Vector256 {Vector256.IsHardwareAccelerated}, Vector128 {Vector128.IsHardwareAccelerated}");
    }
}
