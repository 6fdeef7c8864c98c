using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using FixedShapeAttention.Generators.Model;
using Microsoft.CodeAnalysis;
using Xunit;

namespace FixedShapeAttention.Generators.Tests;

/// <summary>
/// The incremental cache compares pipeline values with Equals: the model must have value equality, and it must hold
/// no Roslyn object that pins a compilation (STJ's spec records, the Lock "no symbols in the model" rule).
/// </summary>
public sealed class ModelEqualityTests
{
    private const string Valid =
        "using FixedShapeAttention;\nnamespace Demo;\npublic partial class Outer\n{\n" +
        "    [TransformerShape(13, 20, 36, Heads = 4, Causal = true, Activation = Activation.Gelu)]\n" +
        "    public partial class Inner { }\n}\n";

    private const string Invalid =
        "using FixedShapeAttention;\nnamespace Demo;\n[TransformerShape(0, 384, 1536, Heads = 5)]\npublic partial class Broken { }\n";

    [Theory]
    [InlineData(Valid)]
    [InlineData(Invalid)]
    public void Equal_sources_in_separate_compilations_give_equal_parse_results(string source)
    {
        // Two parses of the same text share no syntax tree, symbol or array instance: equality must come from values.
        ParseResult first = ParseResultOf(source);
        ParseResult second = ParseResultOf(source);

        Assert.NotSame(first, second);
        Assert.Equal(first, second);
        Assert.Equal(first.GetHashCode(), second.GetHashCode());
        Assert.Equal(first.Shape, second.Shape);
        Assert.True(first.Diagnostics == second.Diagnostics);
    }

    [Fact]
    public void The_parse_results_compared_above_carry_a_nested_shape_and_diagnostics()
    {
        // Keeps the equality theory honest: it compares a populated ShapeSpec (with a containing type) and a non-empty
        // diagnostic list, not two empty results.
        ShapeSpec shape = Assert.IsType<ShapeSpec>(ParseResultOf(Valid).Shape);
        Assert.Equal(new[] { "partial class Outer" }, shape.Type.ContainingTypes);
        Assert.Equal(2, ParseResultOf(Invalid).Diagnostics.Count);
    }

    [Theory]
    [InlineData("(13, 20, 36", "(12, 20, 36")]
    [InlineData("Causal = true", "Causal = false")]
    [InlineData("class Outer", "class Outer2")]
    public void Different_sources_give_different_parse_results(string from, string to)
    {
        Assert.NotEqual(ParseResultOf(Valid), ParseResultOf(Valid.Replace(from, to)));
    }

    [Fact]
    public void EquatableArray_compares_elements_not_references()
    {
        var left = new[] { "a", "b" }.ToEquatableArray();
        var right = new List<string> { "a", "b" }.ToEquatableArray();

        Assert.Equal(left, right);
        Assert.Equal(left.GetHashCode(), right.GetHashCode());
        Assert.NotEqual(left, new[] { "b", "a" }.ToEquatableArray());
        Assert.NotEqual(left, new[] { "a" }.ToEquatableArray());
        Assert.Equal(default(EquatableArray<string>), EquatableArray<string>.Empty);
    }

    /// <summary>
    /// Roslyn types that must never be reachable from a model field: each pins a compilation (or a syntax tree) in
    /// memory and compares by reference, which defeats the cache. <see cref="DiagnosticDescriptor"/> is allowed: it is
    /// a static, shared descriptor.
    /// </summary>
    private static readonly Type[] s_banned =
    {
        typeof(Compilation), typeof(ISymbol), typeof(SyntaxNode), typeof(SyntaxTree), typeof(Location),
        typeof(SemanticModel), typeof(SyntaxToken), typeof(AttributeData), typeof(TypedConstant), typeof(Diagnostic),
    };

    [Fact]
    public void Model_types_hold_no_compilation_symbol_syntax_or_location()
    {
        Type[] roots = typeof(ShapeSpec).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(ShapeSpec).Namespace && !t.IsAbstract && !t.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute)))
            .Append(typeof(ParseResult))
            .Append(typeof(KernelPlan))
            .ToArray();

        var walk = new ModelWalk();
        foreach (Type root in roots)
        {
            walk.Visit(root, root.Name);
        }

        Assert.True(walk.Violations.Count == 0, "Model members that reach a banned type:\n  " + string.Join("\n  ", walk.Violations));

        // The walk must have reached every model type, including the closed EquatableArrays and the nested records.
        Type[] expected =
        {
            typeof(ParseResult), typeof(ShapeSpec), typeof(TypeHierarchy), typeof(KernelPlan), typeof(BranchPlan),
            typeof(ColumnLayout), typeof(DiagnosticInfo), typeof(LocationInfo), typeof(EquatableArray<string>),
            typeof(EquatableArray<int>), typeof(EquatableArray<DiagnosticInfo>), typeof(EquatableArray<BranchPlan>),
        };
        Assert.All(expected, type => Assert.Contains(type, walk.Visited));
    }

    private sealed record LeakyItem(Location Where);

    private sealed record LeakyModel(string Name, EquatableArray<LeakyItem> Items);

    [Fact]
    public void Model_walk_finds_a_location_hidden_inside_an_equatable_array()
    {
        // Proves the walk above can fail: a Location two levels down, behind a generic argument and an array.
        var walk = new ModelWalk();
        walk.Visit(typeof(LeakyModel), nameof(LeakyModel));

        Assert.NotEmpty(walk.Violations);
        Assert.All(walk.Violations, violation => Assert.Contains("is a Location", violation));
        Assert.Contains(walk.Violations, violation => violation.EndsWith(".Where: Location is a Location", StringComparison.Ordinal));
    }

    private static ParseResult ParseResultOf(string source)
    {
        GeneratorRun run = GeneratorHarness.Run(source);
        object value = Assert.Single(run.StepOutputs(TrackingNames.Parse)).Value;
        return Assert.IsType<ParseResult>(value);
    }

    /// <summary>Walks the declared types of instance fields and public properties, through arrays and generic
    /// arguments, into value types and into types of the generator or this test assembly.</summary>
    private sealed class ModelWalk
    {
        public HashSet<Type> Visited { get; } = new();

        public List<string> Violations { get; } = new();

        public void Visit(Type type, string path)
        {
            if (type.IsGenericParameter || type.IsPointer)
            {
                return;
            }

            if (s_banned.FirstOrDefault(banned => banned.IsAssignableFrom(type)) is { } hit)
            {
                Violations.Add($"{path}: {type.Name} is a {hit.Name}");
                return;
            }

            if (type == typeof(object))
            {
                Violations.Add($"{path}: object could hold anything, including a symbol");
                return;
            }

            if (!Visited.Add(type))
            {
                return;
            }

            if (type.IsArray)
            {
                Visit(type.GetElementType()!, path + "[]");
                return;
            }

            if (type.IsGenericType)
            {
                foreach (Type argument in type.GetGenericArguments())
                {
                    Visit(argument, $"{path}<{argument.Name}>");
                }
            }

            if (type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(DiagnosticDescriptor) || !(IsOurs(type) || type.IsValueType))
            {
                return;
            }

            // A base class's private fields are not returned by GetFields on the derived type.
            if (type.BaseType is { } baseType && IsOurs(baseType))
            {
                Visit(baseType, path + ":base");
            }

            const BindingFlags Instance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
            foreach (FieldInfo field in type.GetFields(Instance))
            {
                Visit(field.FieldType, $"{path}.{field.Name}");
            }

            foreach (PropertyInfo property in type.GetProperties(BindingFlags.Instance | BindingFlags.Public))
            {
                Visit(property.PropertyType, $"{path}.{property.Name}");
            }
        }

        private static bool IsOurs(Type type) =>
            type.Assembly == typeof(ShapeSpec).Assembly || type.Assembly == typeof(ModelEqualityTests).Assembly;
    }
}
