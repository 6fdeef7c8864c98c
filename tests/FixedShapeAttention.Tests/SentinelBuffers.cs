using System.Linq;
using Xunit;

namespace FixedShapeAttention.Tests;

/// <summary>Buffers filled with a value no kernel computes from the test data, to prove a rejected call wrote nothing.</summary>
internal static class SentinelBuffers
{
    public const float Sentinel = 12345.5f;

    public static float[] Filled(int length) => Enumerable.Repeat(Sentinel, length).ToArray();

    public static void AssertUntouched(float[] buffer) => Assert.All(buffer, value => Assert.Equal(Sentinel, value));
}
