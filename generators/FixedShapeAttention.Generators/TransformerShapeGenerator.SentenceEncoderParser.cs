using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using FixedShapeAttention.Generators.Diagnostics;
using FixedShapeAttention.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace FixedShapeAttention.Generators;

public sealed partial class TransformerShapeGenerator
{
    /// <summary>Every bucket compiles four kernel files; 16 covers doubling from 2 tokens to 64 Ki, far past any BERT.</summary>
    internal const int MaxBuckets = 16;

    /// <summary>The first default bucket: shorter ones save little, since a sentence is rarely under 16 tokens.</summary>
    private const int SmallestDefaultBucket = 16;

    /// <summary>The members the sentence-encoder emitter adds to the annotated class (CS0542 if the class had one of these names).</summary>
    private static readonly string[] SentenceEncoderMemberNames =
        { "HiddenSize", "Heads", "FfnWidth", "Activation", "MaxLength", "Buckets", "PackLayer", "CreateEncoder" };

    /// <summary>
    /// Reads one <c>[SentenceEncoderShape]</c> declaration into plain data, as <see cref="Parse"/> does for
    /// <c>[TransformerShape]</c>: all symbol and syntax access happens here, attributes the compiler could not bind
    /// yield nothing (the compiler reports them), and invalid values yield diagnostics, never an exception.
    /// </summary>
    internal static SentenceEncoderParseResult ParseSentenceEncoder(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var nothing = new SentenceEncoderParseResult(null, EquatableArray<DiagnosticInfo>.Empty);
        if (context.TargetSymbol is not INamedTypeSymbol type || context.TargetNode is not TypeDeclarationSyntax declaration || context.Attributes.IsDefaultOrEmpty
            || HasMissingName(declaration))
        {
            return nothing;
        }

        AttributeData? attribute = context.Attributes.FirstOrDefault(a => IsAppliedTo(a, declaration));
        if (attribute is null || !IsFirstAttributeOf(type, attribute, SentenceEncoderAttributeMetadataName))
        {
            return nothing;
        }

        var attributeSyntax = attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
        LocationInfo? location = LocationInfo.From(attributeSyntax) ?? LocationInfo.From(declaration.Identifier.GetLocation());
        var diagnostics = new List<DiagnosticInfo>();
        CheckSentenceEncoderDeclaration(type, declaration, location, diagnostics);
        cancellationToken.ThrowIfCancellationRequested();

        EncoderArguments? arguments = attributeSyntax is not null && HasArgumentErrors(attributeSyntax, context.SemanticModel, cancellationToken)
            ? null
            : ReadEncoderArguments(attribute);
        if (arguments is null)
        {
            return new SentenceEncoderParseResult(null, diagnostics.ToEquatableArray());
        }

        int[] buckets = CheckEncoderArguments(arguments, attributeSyntax, location, diagnostics);
        if (diagnostics.Count > 0)
        {
            return new SentenceEncoderParseResult(null, diagnostics.ToEquatableArray());
        }

        var encoder = new SentenceEncoderSpec(
            ReadHierarchy(type), arguments.HiddenSize, arguments.Heads, arguments.FfnWidth, (ActivationKind)arguments.Activation, arguments.MaxLength, buckets.ToEquatableArray());
        return new SentenceEncoderParseResult(encoder, EquatableArray<DiagnosticInfo>.Empty);
    }

    private static void CheckSentenceEncoderDeclaration(INamedTypeSymbol type, TypeDeclarationSyntax declaration, LocationInfo? location, List<DiagnosticInfo> diagnostics)
    {
        string name = type.Name;
        bool namedLikeMember = System.Array.IndexOf(SentenceEncoderMemberNames, name) >= 0 || IsBucketTypeName(name);
        CheckDeclaration(type, declaration, location, diagnostics, namedLikeMember ? SentenceEncoderDiagnosticDescriptors.ClassNamedLikeGeneratedMember : null);
        if (type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == AttributeMetadataName))
        {
            diagnostics.Add(DiagnosticInfo.Create(SentenceEncoderDiagnosticDescriptors.BothShapeAttributes, location, name));
        }
    }

    private static bool IsBucketTypeName(string name) =>
        name.Length > 3 && name.StartsWith("Seq", System.StringComparison.Ordinal) && name.Skip(3).All(c => c is >= '0' and <= '9');

    private sealed record EncoderArguments(int HiddenSize, int Heads, int FfnWidth, int Activation, int MaxLength, int[]? Buckets);

    private static EncoderArguments? ReadEncoderArguments(AttributeData attribute)
    {
        if (attribute.AttributeConstructor is null || attribute.ConstructorArguments.Length != 3
            || !TryGetInt(attribute.ConstructorArguments[0], out int hiddenSize)
            || !TryGetInt(attribute.ConstructorArguments[1], out int heads)
            || !TryGetInt(attribute.ConstructorArguments[2], out int ffnWidth))
        {
            return null;
        }

        // The attribute's own defaults: exact GELU (BERT), 512 positions, buckets derived from MaxLength.
        int activation = 1, maxLength = 512;
        int[]? buckets = null;
        foreach (KeyValuePair<string, TypedConstant> named in attribute.NamedArguments)
        {
            bool ok = named.Key switch
            {
                "Activation" => TryGetEnum(named.Value, out activation),
                "MaxLength" => TryGetInt(named.Value, out maxLength),
                "Buckets" => TryGetIntArray(named.Value, out buckets),
                _ => true,
            };
            if (!ok)
            {
                return null;
            }
        }

        return new EncoderArguments(hiddenSize, heads, ffnWidth, activation, maxLength, buckets);
    }

    private static bool TryGetIntArray(TypedConstant constant, out int[]? values)
    {
        values = null;
        if (constant.Kind != TypedConstantKind.Array)
        {
            return false;
        }

        if (constant.IsNull)
        {
            // Buckets = null: the default buckets, as when Buckets is not set.
            return true;
        }

        ImmutableArray<TypedConstant> items = constant.Values;
        var result = new int[items.Length];
        for (int i = 0; i < items.Length; i++)
        {
            if (!TryGetInt(items[i], out result[i]))
            {
                return false;
            }
        }

        values = result;
        return true;
    }

    /// <returns>The buckets to emit: the declared ones, or 16, 32, … doubling up to MaxLength.</returns>
    private static int[] CheckEncoderArguments(EncoderArguments arguments, AttributeSyntax? syntax, LocationInfo? fallback, List<DiagnosticInfo> diagnostics)
    {
        CheckDimension("HiddenSize", arguments.HiddenSize, ShapeRules.MaxEmbeddingDim, ArgumentLocation(syntax, 0, "hiddenSize", null) ?? fallback, diagnostics);
        LocationInfo? headsLocation = ArgumentLocation(syntax, 1, "heads", null) ?? fallback;
        if (!ShapeRules.IsPositive(arguments.Heads))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DimensionNotPositive, headsLocation, "Heads", Format(arguments.Heads)));
        }
        else if (ShapeRules.IsPositive(arguments.HiddenSize) && !ShapeRules.HeadsDivideEmbedding(arguments.HiddenSize, arguments.Heads))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.HeadsDoNotDivideEmbedding, headsLocation, Format(arguments.Heads), Format(arguments.HiddenSize)));
        }

        CheckDimension("FfnWidth", arguments.FfnWidth, ShapeRules.MaxFfnDim, ArgumentLocation(syntax, 2, "ffnWidth", null) ?? fallback, diagnostics);
        if (!ShapeRules.IsKnownActivation(arguments.Activation))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnknownActivation, ArgumentLocation(syntax, -1, null, "Activation") ?? fallback, Format(arguments.Activation)));
        }

        LocationInfo? maxLengthLocation = ArgumentLocation(syntax, -1, null, "MaxLength") ?? fallback;
        if (arguments.MaxLength < 2)
        {
            diagnostics.Add(DiagnosticInfo.Create(SentenceEncoderDiagnosticDescriptors.MaxLengthTooShort, maxLengthLocation, Format(arguments.MaxLength)));
            return [];
        }

        if (!ShapeRules.IsWithin(arguments.MaxLength, ShapeRules.MaxSequenceLength))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DimensionTooLarge, maxLengthLocation, "MaxLength", Format(arguments.MaxLength), Format(ShapeRules.MaxSequenceLength)));
            return [];
        }

        if (arguments.Buckets is not int[] buckets)
        {
            return DefaultBuckets(arguments.MaxLength);
        }

        LocationInfo? bucketsLocation = ArgumentLocation(syntax, -1, null, "Buckets") ?? fallback;
        string list = string.Join(", ", buckets.Select(Format));
        bool increasing = buckets.Length > 0 && buckets[0] >= 2;
        for (int i = 1; i < buckets.Length && increasing; i++)
        {
            increasing = buckets[i] > buckets[i - 1];
        }

        if (!increasing)
        {
            diagnostics.Add(DiagnosticInfo.Create(SentenceEncoderDiagnosticDescriptors.BucketsNotIncreasing, bucketsLocation, list));
        }
        else if (buckets.Length > MaxBuckets)
        {
            diagnostics.Add(DiagnosticInfo.Create(SentenceEncoderDiagnosticDescriptors.TooManyBuckets, bucketsLocation, Format(buckets.Length), Format(MaxBuckets)));
        }
        else if (buckets[buckets.Length - 1] != arguments.MaxLength)
        {
            diagnostics.Add(DiagnosticInfo.Create(SentenceEncoderDiagnosticDescriptors.LastBucketNotMaxLength, bucketsLocation, Format(buckets[buckets.Length - 1]), Format(arguments.MaxLength)));
        }

        return buckets;
    }

    /// <summary>16, 32, 64, … below MaxLength, then MaxLength itself.</summary>
    internal static int[] DefaultBuckets(int maxLength)
    {
        var buckets = new List<int>();
        for (int bucket = SmallestDefaultBucket; bucket < maxLength; bucket *= 2)
        {
            buckets.Add(bucket);
        }

        buckets.Add(maxLength);
        return buckets.ToArray();
    }
}
