using System.Collections.Generic;
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
    /// <summary>
    /// Reads one <c>[TransformerShape]</c> declaration into plain data. All symbol and syntax access happens here;
    /// what leaves is a <see cref="ParseResult"/>. Never throws: an attribute the compiler could not bind (half
    /// typed, wrong argument types) yields no shape and no diagnostic, because the compiler already reports it.
    /// </summary>
    internal static ParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        if (context.TargetSymbol is not INamedTypeSymbol type || context.TargetNode is not TypeDeclarationSyntax declaration || context.Attributes.IsDefaultOrEmpty)
        {
            return new ParseResult(null, EquatableArray<DiagnosticInfo>.Empty);
        }

        if (HasMissingName(declaration))
        {
            // Half-typed code such as "partial class class C": the parser recovers a class without a name. Kernels for
            // it could only be "partial class  : …", a second wave of syntax errors in files the user cannot edit.
            return new ParseResult(null, EquatableArray<DiagnosticInfo>.Empty);
        }

        // context.Attributes holds the matching attributes of every declaration of the type in this syntax tree, not
        // only of TargetNode: with two annotated partial declarations in one file, [0] is the first one for both.
        AttributeData? attribute = context.Attributes.FirstOrDefault(a => IsAppliedTo(a, declaration));
        if (attribute is null || !IsFirstAttributeOf(type, attribute, AttributeMetadataName))
        {
            // A second partial declaration also carries the attribute: the compiler reports the duplicate (CS0579)
            // and the first declaration's result already emits the kernels.
            return new ParseResult(null, EquatableArray<DiagnosticInfo>.Empty);
        }

        var attributeSyntax = attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
        LocationInfo? attributeLocation = LocationInfo.From(attributeSyntax) ?? LocationInfo.From(declaration.Identifier.GetLocation());
        var diagnostics = new List<DiagnosticInfo>();

        DiagnosticDescriptor? nameConflict = System.Array.IndexOf(GeneratedMemberNames, type.Name) >= 0 ? DiagnosticDescriptors.ClassNamedLikeGeneratedMember : null;
        CheckDeclaration(type, declaration, attributeLocation, diagnostics, nameConflict);
        cancellationToken.ThrowIfCancellationRequested();

        ShapeArguments? arguments = attributeSyntax is not null && HasArgumentErrors(attributeSyntax, context.SemanticModel, cancellationToken)
            ? null
            : ReadArguments(attribute);
        if (arguments is null)
        {
            return new ParseResult(null, diagnostics.ToEquatableArray());
        }

        CheckArguments(arguments, attributeSyntax, attributeLocation, diagnostics);
        if (diagnostics.Count > 0)
        {
            return new ParseResult(null, diagnostics.ToEquatableArray());
        }

        var shape = new ShapeSpec(
            ReadHierarchy(type),
            arguments.SequenceLength,
            arguments.EmbeddingDim,
            arguments.FfnDim,
            arguments.Heads,
            arguments.Causal,
            (ActivationKind)arguments.Activation)
        {
            KeyValueHeads = arguments.KeyValueHeads ?? arguments.Heads,
        };
        return new ParseResult(shape, EquatableArray<DiagnosticInfo>.Empty);
    }

    private static bool HasMissingName(TypeDeclarationSyntax declaration)
    {
        for (SyntaxNode? node = declaration; node is TypeDeclarationSyntax type; node = node.Parent)
        {
            if (type.Identifier.IsMissing)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsAppliedTo(AttributeData attribute, TypeDeclarationSyntax declaration) =>
        attribute.ApplicationSyntaxReference is { } reference
        && reference.SyntaxTree == declaration.SyntaxTree
        && declaration.Span.Contains(reference.Span);

    /// <summary>Whether <paramref name="attribute"/> is the first attribute of its kind on <paramref name="type"/> (a duplicate is CS0579).</summary>
    private static bool IsFirstAttributeOf(INamedTypeSymbol type, AttributeData attribute, string metadataName)
    {
        AttributeData? first = type.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == metadataName);
        return first is null || first.ApplicationSyntaxReference?.Span == attribute.ApplicationSyntaxReference?.Span
            && first.ApplicationSyntaxReference?.SyntaxTree == attribute.ApplicationSyntaxReference?.SyntaxTree;
    }

    /// <summary>The members the emitters add to the annotated class; the class cannot carry one of these names (CS0542).</summary>
    private static readonly string[] GeneratedMemberNames =
        {
            "Attention", "FeedForward", "PackFeedForward", "Project", "PackProjection", "Shape", "SequenceLength", "EmbeddingDim", "FfnDim", "Heads",
            "KeyValueHeads", "Prefill", "DecodeStep", "CreateKeyValueCache",
        };

    /// <summary>
    /// The rules every annotated class obeys, whichever attribute it carries: partial, not static, not generic, every
    /// containing type partial, and not named like a member the generator adds (<paramref name="nameConflict"/>: the
    /// attribute's own diagnostic for that, or null when the name is free).
    /// </summary>
    private static void CheckDeclaration(
        INamedTypeSymbol type, TypeDeclarationSyntax declaration, LocationInfo? location, List<DiagnosticInfo> diagnostics, DiagnosticDescriptor? nameConflict)
    {
        string name = type.Name;
        if (!declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ClassNotPartial, location, name));
        }

        if (nameConflict is not null)
        {
            diagnostics.Add(DiagnosticInfo.Create(nameConflict, location, name));
        }

        if (type.IsStatic)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ClassIsStatic, location, name));
        }

        for (INamedTypeSymbol? current = type; current is not null; current = current.ContainingType)
        {
            // IsGenericType is also true for a non-generic type nested in a generic one: name the type that has the parameters.
            if (current.Arity > 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ClassIsGeneric, location, name, current.ToDisplayString()));
                break;
            }
        }

        for (SyntaxNode? parent = declaration.Parent; parent is TypeDeclarationSyntax container; parent = parent.Parent)
        {
            if (!container.Modifiers.Any(SyntaxKind.PartialKeyword))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ContainingTypeNotPartial, location, name, container.Identifier.ValueText));
            }
        }
    }

    private sealed record ShapeArguments(int SequenceLength, int EmbeddingDim, int FfnDim, int Heads, bool Causal, int Activation, int? KeyValueHeads);

    private static ShapeArguments? ReadArguments(AttributeData attribute)
    {
        if (attribute.AttributeConstructor is null || attribute.ConstructorArguments.Length != 3)
        {
            return null;
        }

        if (!TryGetInt(attribute.ConstructorArguments[0], out int sequenceLength)
            || !TryGetInt(attribute.ConstructorArguments[1], out int embeddingDim)
            || !TryGetInt(attribute.ConstructorArguments[2], out int ffnDim))
        {
            return null;
        }

        int heads = 1;
        bool causal = false;
        int activation = 0;
        int? keyValueHeads = null;
        foreach (KeyValuePair<string, TypedConstant> named in attribute.NamedArguments)
        {
            TypedConstant value = named.Value;
            bool ok = named.Key switch
            {
                "Heads" => TryGetInt(value, out heads),
                "Causal" => TryGetBool(value, out causal),
                "Activation" => TryGetEnum(value, out activation),
                "KeyValueHeads" => TryGetNullableInt(value, out keyValueHeads),
                _ => true,
            };
            if (!ok)
            {
                return null;
            }
        }

        return new ShapeArguments(sequenceLength, embeddingDim, ffnDim, heads, causal, activation, keyValueHeads);
    }

    /// <summary>
    /// Whether the compiler rejects an argument that Roslyn still binds to a constant: a named argument given twice
    /// (CS0643; AttributeData keeps both, and the last one wins) or a value that needs an explicit conversion
    /// (<c>Heads = 2.5</c> binds as 2, with CS0266). An FSA id about such a value would describe something the user
    /// did not write, or point at the other copy, so these attributes are left to the compiler like unbound ones.
    /// </summary>
    private static bool HasArgumentErrors(AttributeSyntax syntax, SemanticModel model, CancellationToken cancellationToken)
    {
        if (syntax.ArgumentList is not { } list)
        {
            return false;
        }

        var named = new HashSet<string>(System.StringComparer.Ordinal);
        foreach (AttributeArgumentSyntax argument in list.Arguments)
        {
            if (argument.NameEquals is { } nameEquals && !named.Add(nameEquals.Name.Identifier.ValueText))
            {
                return true;
            }

            if (!model.GetConversion(argument.Expression, cancellationToken).IsImplicit)
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryGetInt(TypedConstant constant, out int value)
    {
        value = 0;
        if (constant.Kind == TypedConstantKind.Primitive && constant.Value is int number)
        {
            value = number;
            return true;
        }

        return false;
    }

    private static bool TryGetNullableInt(TypedConstant constant, out int? value)
    {
        bool ok = TryGetInt(constant, out int number);
        value = ok ? number : null;
        return ok;
    }

    private static bool TryGetBool(TypedConstant constant, out bool value)
    {
        value = false;
        if (constant.Kind == TypedConstantKind.Primitive && constant.Value is bool flag)
        {
            value = flag;
            return true;
        }

        return false;
    }

    private static bool TryGetEnum(TypedConstant constant, out int value)
    {
        value = 0;
        if (constant.Kind == TypedConstantKind.Enum && constant.Value is int number)
        {
            value = number;
            return true;
        }

        return false;
    }

    private static void CheckArguments(ShapeArguments arguments, AttributeSyntax? syntax, LocationInfo? fallback, List<DiagnosticInfo> diagnostics)
    {
        CheckDimension("SequenceLength", arguments.SequenceLength, ShapeRules.MaxSequenceLength, ArgumentLocation(syntax, 0, "sequenceLength", null) ?? fallback, diagnostics);
        CheckDimension("EmbeddingDim", arguments.EmbeddingDim, ShapeRules.MaxEmbeddingDim, ArgumentLocation(syntax, 1, "embeddingDim", null) ?? fallback, diagnostics);
        CheckDimension("FfnDim", arguments.FfnDim, ShapeRules.MaxFfnDim, ArgumentLocation(syntax, 2, "ffnDim", null) ?? fallback, diagnostics);

        LocationInfo? headsLocation = ArgumentLocation(syntax, -1, null, "Heads") ?? fallback;
        if (!ShapeRules.IsPositive(arguments.Heads))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DimensionNotPositive, headsLocation, "Heads", Format(arguments.Heads)));
        }
        else if (ShapeRules.IsPositive(arguments.EmbeddingDim) && !ShapeRules.HeadsDivideEmbedding(arguments.EmbeddingDim, arguments.Heads))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.HeadsDoNotDivideEmbedding, headsLocation, Format(arguments.Heads), Format(arguments.EmbeddingDim)));
        }

        if (arguments.KeyValueHeads is int keyValueHeads)
        {
            LocationInfo? keyValueLocation = ArgumentLocation(syntax, -1, null, "KeyValueHeads") ?? fallback;
            if (!ShapeRules.IsPositive(keyValueHeads))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DimensionNotPositive, keyValueLocation, "KeyValueHeads", Format(keyValueHeads)));
            }
            else if (ShapeRules.IsPositive(arguments.Heads) && !ShapeRules.KeyValueHeadsDivideHeads(arguments.Heads, keyValueHeads))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.KeyValueHeadsDoNotDivideHeads, keyValueLocation, Format(keyValueHeads), Format(arguments.Heads)));
            }
        }

        if (!ShapeRules.IsKnownActivation(arguments.Activation))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnknownActivation, ArgumentLocation(syntax, -1, null, "Activation") ?? fallback, Format(arguments.Activation)));
        }
    }

    private static void CheckDimension(string name, int value, int max, LocationInfo? location, List<DiagnosticInfo> diagnostics)
    {
        if (!ShapeRules.IsPositive(value))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DimensionNotPositive, location, name, Format(value)));
        }
        else if (!ShapeRules.IsWithin(value, max))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DimensionTooLarge, location, name, Format(value), Format(max)));
        }
    }

    private static string Format(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The syntax of one argument: a constructor argument by position or <c>name:</c>, or a named property by <c>Name =</c>.</summary>
    private static LocationInfo? ArgumentLocation(AttributeSyntax? syntax, int position, string? parameterName, string? propertyName)
    {
        if (syntax?.ArgumentList is not { } list)
        {
            return null;
        }

        // Every constructor argument, named or not, takes a position: an unnamed argument may follow named ones only
        // when they are in position (C# 7.2), as in (128, embeddingDim: 384, 0), where 0 is ffnDim.
        int positional = 0;
        foreach (AttributeArgumentSyntax argument in list.Arguments)
        {
            if (argument.NameEquals is { } nameEquals)
            {
                if (nameEquals.Name.Identifier.ValueText == propertyName)
                {
                    return LocationInfo.From(argument);
                }

                continue;
            }

            if (argument.NameColon is { } nameColon)
            {
                if (nameColon.Name.Identifier.ValueText == parameterName)
                {
                    return LocationInfo.From(argument);
                }
            }
            else if (positional == position && parameterName is not null)
            {
                return LocationInfo.From(argument);
            }

            positional++;
        }

        return null;
    }

    private static TypeHierarchy ReadHierarchy(INamedTypeSymbol type)
    {
        // ToDisplayString escapes keyword identifiers (@class.Models), as the namespace line of the generated files needs.
        string ns = type.ContainingNamespace is { IsGlobalNamespace: false } containing ? containing.ToDisplayString() : "";
        var containingTypes = new List<string>();
        for (INamedTypeSymbol? current = type.ContainingType; current is not null; current = current.ContainingType)
        {
            containingTypes.Insert(0, $"partial {DeclarationKeyword(current)} {TypeHierarchy.EscapeIdentifier(current.Name)}");
        }

        return new TypeHierarchy(ns, containingTypes.ToEquatableArray(), type.Name) { Keyword = DeclarationKeyword(type) };
    }

    private static string DeclarationKeyword(INamedTypeSymbol type) => (type.TypeKind, type.IsRecord) switch
    {
        (TypeKind.Struct, true) => "record struct",
        (TypeKind.Struct, false) => "struct",
        (TypeKind.Interface, _) => "interface",
        (_, true) => "record",
        _ => "class",
    };
}
