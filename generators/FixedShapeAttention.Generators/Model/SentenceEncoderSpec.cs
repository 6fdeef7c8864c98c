using System.Linq;

namespace FixedShapeAttention.Generators.Model;

/// <summary>
/// One <c>[SentenceEncoderShape]</c> declaration: the encoder's widths and its sequence-length buckets. Each bucket
/// becomes a nested kernel class described by an ordinary <see cref="ShapeSpec"/> (<see cref="BucketShape"/>), which
/// the existing planner and emitters turn into kernels.
/// </summary>
/// <remarks>
/// Cache contract: as <see cref="ShapeSpec"/>: ints, strings, enums and equatable arrays only, no symbols, syntax,
/// locations or compilations, and equal exactly when the generated encoder source would be identical.
/// </remarks>
internal sealed record SentenceEncoderSpec(
    TypeHierarchy Type,
    int HiddenSize,
    int Heads,
    int FfnWidth,
    ActivationKind Activation,
    int MaxLength,
    EquatableArray<int> Buckets)
{
    /// <summary>The name of the nested kernel class for <paramref name="bucket"/> tokens.</summary>
    public static string BucketTypeName(int bucket) => "Seq" + bucket.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The kernel shape of one bucket: a class nested in the declared one, non-causal (an encoder attends both ways).</summary>
    public ShapeSpec BucketShape(int bucket)
    {
        var containing = Type.ContainingTypes.Concat(new[] { $"partial {Type.Keyword} {Type.DeclaredName}" }).ToEquatableArray();
        var nested = new TypeHierarchy(Type.Namespace, containing, BucketTypeName(bucket));
        return new ShapeSpec(nested, bucket, HiddenSize, FfnWidth, Heads, Causal: false, Activation);
    }

    /// <summary>
    /// The bucket class whose packer packs every layer: the packed layout depends on HiddenSize and FfnWidth only,
    /// so any bucket's packer serves them all, and the first always exists.
    /// </summary>
    public string PackingTypeName => BucketTypeName(Buckets[0]);

    public EquatableArray<ShapeSpec> BucketShapes() => Buckets.Select(BucketShape).ToEquatableArray();
}

/// <summary>The result of parsing one <c>[SentenceEncoderShape]</c> declaration: the encoder to emit (null when invalid) and the diagnostics to report.</summary>
internal sealed record SentenceEncoderParseResult(SentenceEncoderSpec? Encoder, EquatableArray<DiagnosticInfo> Diagnostics);
