using System;
using System.Globalization;
using Xunit;

namespace FixedShapeAttention.Generators.Tests;

/// <summary>
/// The knobs of the fuzz tests. CI runs a fixed seed, so a red run is reproducible; a failure message prints the
/// seed and the environment that replays it. <c>FSA_FUZZ_SEED</c> replaces the seed, <c>FSA_FUZZ_SHAPES</c> and
/// <c>FSA_FUZZ_MUTATIONS</c> raise the number of random shapes and random attribute mutations.
/// </summary>
internal static class FuzzSettings
{
    public const string SeedVariable = "FSA_FUZZ_SEED";
    public const string ShapesVariable = "FSA_FUZZ_SHAPES";
    public const string MutationsVariable = "FSA_FUZZ_MUTATIONS";

    /// <summary>The CI seed (the date these tests were written).</summary>
    public const int DefaultSeed = 20261124;

    public static int Seed => Read(SeedVariable, DefaultSeed, minimum: int.MinValue);

    /// <summary>The value of <paramref name="variable"/>, or <paramref name="fallback"/> when it is unset.</summary>
    /// <exception cref="InvalidOperationException">The variable is set but is not an integer of at least <paramref name="minimum"/>:
    /// a typo must not silently run the default.</exception>
    public static int Read(string variable, int fallback, int minimum = 1)
    {
        string? text = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < minimum)
        {
            throw new InvalidOperationException($"{variable}={text} is not an integer of at least {minimum}.");
        }

        return value;
    }

    /// <summary>Writes a line to the test's output (shown with the result, and in the log of a failing run).</summary>
    public static void Log(string line)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        TestContext.Current.SendDiagnosticMessage(line);
    }
}
