namespace FixedShapeAttention.Generators;

/// <summary>Names of the pipeline steps, so the incrementality tests can ask each step whether it was cached.</summary>
internal static class TrackingNames
{
    public const string Parse = nameof(Parse);
    public const string Diagnostics = nameof(Diagnostics);
    public const string Output = nameof(Output);
}
