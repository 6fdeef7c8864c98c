namespace FixedShapeAttention.Generators.Emitters;

/// <summary>Fully qualified spellings for the members emitted into the user's class (see FileHeaderEmitter).</summary>
internal static class Spans
{
    public const string ReadOnly = "global::System.ReadOnlySpan<float>";

    public const string Counts = "global::System.ReadOnlySpan<int>";

    public const string Writable = "global::System.Span<float>";

    public const string CompilerServices = "global::FixedShapeAttention.CompilerServices";

    public const string DefaultParallelism = "global::FixedShapeAttention.KernelParallelism.DefaultMaxDegreeOfParallelism";
}
